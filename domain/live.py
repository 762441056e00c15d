"""Live events: the bus port that carries committed event-log rows to subscribers, and the
replay-then-live merge that hands each subscriber every event of its feed exactly once.

The event log is the truth; the bus is only a doorbell. A subscriber listens on the bus FIRST,
then reads the log after its cursor, then streams live events it has not delivered yet. When the
bus says it may have dropped something (``Resync``: Redis reconnected, a publish failed), the
subscriber re-reads the log from the last id it delivered. So a subscriber that stays connected
loses nothing, and one that reconnects with ``after`` gets the rest from the log.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from enum import Enum
from typing import Protocol
from uuid import UUID

from db.models.accounts import Session
from db.models.api_keys import ApiKey
from db.models.calls import Call
from db.models.live import Event
from domain.errors import DomainError
from domain.ports import EventPublisher, PublishedEvent
from domain.principal import Principal
from domain.uow import to_published

logger = logging.getLogger("callfluently.live")

#: Log rows read per query while replaying, so a long backlog never loads at once.
REPLAY_PAGE = 200
#: Delivered ids remembered per subscriber to drop duplicates (bus echo after a log re-read).
DEDUPE_WINDOW = 4096


class SlowConsumer(Exception):
    """A subscriber fell so far behind that its bounded queue overflowed; it is disconnected."""

    def __init__(self, message: str, last_event_id: int | None = None) -> None:
        super().__init__(message)
        self.last_event_id = last_event_id


@dataclass(frozen=True, slots=True)
class Resync:
    """A bus signal: events may have been missed (reconnect, failed publish); re-read the log."""

    reason: str


class Listener(Protocol):
    """Events for one user, as they are published, until closed."""

    def __aiter__(self) -> AsyncIterator[PublishedEvent | Resync]: ...

    async def ready(self) -> None:
        """Return once events published from now on reach this listener, or the bus is down
        (in which case a ``Resync`` follows when it is back)."""

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
    - ``analysis.ready``: {analysisId, status, grammar, vocabulary, fluency, pronunciation,
      cefrLevel}
    - ``balance.changed``: {amountMinor, currency, deltaMinor, kind, entryId}
    - ``privacy_request.updated``: {requestId, kind, status}

    Events about a call (the first four) are emitted with ``call_id`` set.
    """

    CALL_STATUS_CHANGED = "call.status_changed"
    CALL_TRANSCRIPT = "call.transcript"
    CALL_ENDED = "call.ended"
    ANALYSIS_READY = "analysis.ready"
    BALANCE_CHANGED = "balance.changed"
    PRIVACY_REQUEST_UPDATED = "privacy_request.updated"

    CALL_FEED = frozenset({CALL_STATUS_CHANGED, CALL_TRANSCRIPT, CALL_ENDED, ANALYSIS_READY})


class CallUpdatesErrorCode(Enum):
    NOT_FOUND = "NOT_FOUND"


class CallUpdatesRefused(DomainError):
    """``callUpdates`` on a call that does not exist or belongs to someone else."""


@dataclass(frozen=True, slots=True)
class Feed:
    """Which events a subscription carries: one user's, optionally one call's, of some types."""

    user_id: UUID
    call_id: UUID | None = None
    types: frozenset[str] | None = None

    def matches(self, event: PublishedEvent) -> bool:
        return (
            event.user_id == self.user_id
            and (self.call_id is None or event.call_id == self.call_id)
            and (self.types is None or event.type in self.types)
        )

    async def read_after(self, after: int) -> AsyncIterator[PublishedEvent]:
        """Logged events of this feed with id > ``after``, in id order, a page at a time."""
        cursor = after
        while True:
            query = Event.filter(user_id=self.user_id, id__gt=cursor)
            if self.call_id is not None:
                query = query.filter(call_id=self.call_id)
            if self.types is not None:
                query = query.filter(type__in=sorted(self.types))
            rows = await query.order_by("id").limit(REPLAY_PAGE)
            for row in rows:
                yield to_published(row)
            if len(rows) < REPLAY_PAGE:
                return
            cursor = rows[-1].id

    async def latest_id(self) -> int:
        """The newest logged id of this feed (0 for none): where a live-only feed starts."""
        query = Event.filter(user_id=self.user_id)
        if self.call_id is not None:
            query = query.filter(call_id=self.call_id)
        newest = await query.order_by("-id").only("id").first()
        return newest.id if newest is not None else 0


@dataclass(slots=True)
class Delivered:
    """The ids a subscriber was given: the cursor for log re-reads and the duplicate filter.

    Ids are compared as a set, not only against the highest one, because two transactions can
    commit in the opposite order of their ids: a late lower id still reaches a live subscriber.
    """

    floor: int
    cursor: int = 0
    ids: set[int] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.cursor = self.floor

    def add(self, event_id: int) -> bool:
        """Record ``event_id``; False when it was delivered (or is older than the feed start)."""
        if event_id <= self.floor or event_id in self.ids:
            return False
        self.ids.add(event_id)
        self.cursor = max(self.cursor, event_id)
        if len(self.ids) > DEDUPE_WINDOW:
            oldest = sorted(self.ids)[: DEDUPE_WINDOW // 2]
            self.ids.difference_update(oldest)
            self.floor = oldest[-1]
        return True


async def follow(
    *, bus: EventBus, feed: Feed, after: int | None, max_queue: int
) -> AsyncIterator[PublishedEvent]:
    """Replay the log after ``after`` (None: from now on), then stream live events, each once.

    Raises ``SlowConsumer`` (with the last delivered id) when the subscriber's bounded queue
    overflows: it is cut off rather than allowed to grow memory, and resumes with ``after``.
    """
    listener = bus.listen(feed.user_id, max_queue=max_queue)
    try:
        await listener.ready()
        start = after if after is not None else await feed.latest_id()
        delivered = Delivered(floor=start)
        async for event in feed.read_after(start):
            if delivered.add(event.id):
                yield event
        try:
            async for item in listener:
                if isinstance(item, Resync):
                    async for event in feed.read_after(delivered.cursor):
                        if delivered.add(event.id):
                            yield event
                elif feed.matches(item) and delivered.add(item.id):
                    yield item
        except SlowConsumer as exc:
            logger.warning(
                "live subscriber too slow, disconnected",
                extra={"user_id": str(feed.user_id), "last_event_id": delivered.cursor},
            )
            raise SlowConsumer(str(exc), last_event_id=delivered.cursor) from exc
    finally:
        await listener.close()


async def call_feed(*, principal: Principal, call_id: UUID) -> Feed:
    """The feed of one of the principal's own calls; anyone else's call is NOT_FOUND."""
    if not await Call.filter(id=call_id, user_id=principal.user_id).exists():
        raise CallUpdatesRefused(CallUpdatesErrorCode.NOT_FOUND, "No such call.", "callId")
    return Feed(user_id=principal.user_id, call_id=call_id, types=EventType.CALL_FEED)


def user_feed(*, principal: Principal) -> Feed:
    """Every event of the signed-in learner."""
    return Feed(user_id=principal.user_id)


async def still_signed_in(principal: Principal) -> bool:
    """Whether a long-lived connection's session or API key is still live (sign-out, key
    revocation and account closure end it)."""
    if principal.api_key_id is not None:
        return await ApiKey.filter(
            id=principal.api_key_id, revoked_at=None, user__status="active"
        ).exists()
    if principal.session_id is None:
        return True
    return await Session.filter(
        id=principal.session_id, user_id=principal.user_id, revoked_at=None,
        user__status="active",
    ).exists()

