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


class EventType:
    """The event-log vocabulary (``events.type``); payload keys are camelCase, JSON-ready.

    - ``call.status_changed``: {status, previousStatus, endedReason?}
    - ``call.transcript``: {role, text, final, seq?, startS?, endS?}
    - ``call.ended``: {status, endedReason, durationS, chargeMinor, currency}
    - ``analysis.ready``: {analysisId, status, grammar, vocabulary, fluency, pronunciation, cefrLevel}
    - ``balance.changed``: {amountMinor, currency, deltaMinor, kind, entryId}
    - ``privacy_request.updated``: {requestId, kind, status}
    """

    CALL_STATUS_CHANGED = "call.status_changed"
    CALL_TRANSCRIPT = "call.transcript"
    CALL_ENDED = "call.ended"
    ANALYSIS_READY = "analysis.ready"
    BALANCE_CHANGED = "balance.changed"
    PRIVACY_REQUEST_UPDATED = "privacy_request.updated"
