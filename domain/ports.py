"""Ports shared by several domains; a domain's own provider port lives in its module."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol
from uuid import UUID


@dataclass(frozen=True, slots=True)
class PublishedEvent:
    """An event-log row as it travels on the bus after commit."""

    id: int
    user_id: UUID
    call_id: UUID | None
    type: str
    payload: dict[str, Any]
    created_at: datetime


class EventPublisher(Protocol):
    """Fans committed events out to subscribers (in-process or Redis)."""

    async def publish(self, events: list[PublishedEvent]) -> None: ...


class JobsNotifier(Protocol):
    """Tells local workers that new jobs were committed, so they need not wait for a poll."""

    def jobs_committed(self) -> None: ...
