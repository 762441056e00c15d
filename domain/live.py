"""Live events: the bus port that carries committed event-log rows to subscribers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Protocol
from uuid import UUID

from domain.ports import EventPublisher, PublishedEvent


class SlowConsumer(Exception):  # noqa: N818 - named for what happened
    """A subscriber fell so far behind that its bounded queue overflowed; it is disconnected."""


class Listener(Protocol):
    """Events for one user, as they are published, until closed."""

    def __aiter__(self) -> AsyncIterator[PublishedEvent]: ...

    async def close(self) -> None: ...


class EventBus(EventPublisher, Protocol):
    """Publishes committed events and lets subscribers listen per user, on every process."""

    def listen(self, user_id: UUID, *, max_queue: int = 1000) -> Listener: ...

    async def start(self) -> None: ...

    async def stop(self) -> None: ...
