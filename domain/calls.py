"""Coaching calls: starting one, its status machine, the dialer port, and reading calls back.

A call is ``requested`` when the learner (or the plan scheduler) asks for it, ``queued`` once the
``dial`` job has handed it to VAPI, then follows VAPI's own ``ringing`` → ``in_progress`` →
``ended``. ``failed`` means VAPI never took the call. Status only ever moves forward, because
VAPI promises no ordering of its webhooks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import Any, Protocol, cast
from uuid import UUID

from db.hot_writes import update_call
from db.locks import lock_balance
from db.models.accounts import User
from db.models.calls import Call
from db.models.plans import CallPlan
from db.models.topics import Topic, UserTopic
from domain.errors import DomainError
from domain.live import EventType
from domain.uow import Effects, UnitOfWork

#: Calls of a learner without a call plan last at most this long (a plan sets its own length,
#: which also applies to calls started by hand).
DEFAULT_MAX_DURATION_S = 10 * 60
#: VAPI refuses a ``maxDurationSeconds`` below this.
MIN_DURATION_S = 10
DIAL_JOB = "dial"


class CallStatus(Enum):
    REQUESTED = "requested"
    QUEUED = "queued"
    RINGING = "ringing"
    IN_PROGRESS = "in_progress"
    ENDED = "ended"
    FAILED = "failed"

    @property
    def rank(self) -> int:
        return _RANK[self]

    @property
    def is_terminal(self) -> bool:
        return self in (CallStatus.ENDED, CallStatus.FAILED)


_RANK = {
    CallStatus.REQUESTED: 0,
    CallStatus.QUEUED: 1,
    CallStatus.RINGING: 2,
    CallStatus.IN_PROGRESS: 3,
    CallStatus.ENDED: 4,
    CallStatus.FAILED: 4,
}
ACTIVE_STATUSES = tuple(s.value for s in CallStatus if not s.is_terminal)


class StartCallErrorCode(Enum):
    NO_PHONE = "NO_PHONE"
    CALL_ALREADY_ACTIVE = "CALL_ALREADY_ACTIVE"
    INSUFFICIENT_BALANCE = "INSUFFICIENT_BALANCE"
    ACCOUNT_CLOSED = "ACCOUNT_CLOSED"
    TOPIC_NOT_FOUND = "TOPIC_NOT_FOUND"
    PROCESSING_RESTRICTED = "PROCESSING_RESTRICTED"


class StartCallRefused(DomainError):
    pass


@dataclass(frozen=True, slots=True)
class Pricing:
    """What a connected minute costs, in integer minor units of ``currency``."""

    price_per_minute_minor: int
    currency: str


# --- the dialer port ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DialRequest:
    """Everything VAPI needs to place one coaching call."""

    call_id: UUID
    phone: str
    first_name: str
    instructions: str
    coach_voice: str
    max_duration_s: int
    variables: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ProviderCall:
    """The provider's view of a call; ``data`` is its call object, read by ``calls_reports``."""

    id: str
    status: str
    data: dict[str, Any]


class DialRejected(Exception):
    """The provider answered and refused: no call exists, so the call fails."""


class DialUncertain(Exception):
    """The request may have reached the provider, so a call may exist: never retry blindly."""


class ProviderUnavailable(Exception):
    """The provider could not be reached at all; nothing was created."""


class Dialer(Protocol):
    """Places, reads and deletes calls at the voice provider (VAPI)."""

    async def create_call(self, request: DialRequest) -> ProviderCall: ...

    async def get_call(self, provider_call_id: str) -> ProviderCall | None: ...

    async def delete_call(self, provider_call_id: str) -> bool: ...


# --- status moves ------------------------------------------------------------------------------


async def move_status(
    uow: UnitOfWork,
    call: Call,
    new: CallStatus,
    *,
    ended_reason: str | None = None,
    failure_reason: str | None = None,
    also: dict[str, Any] | None = None,
) -> bool:
    """Move ``call`` (locked by the caller) forward to ``new`` and emit the change; backward or
    sideways moves are ignored, since a late webhook must never undo what we know.

    ``also``: further columns the caller wants written, sent in the same UPDATE when the status
    moves (when it does not, nothing is written and the caller writes them itself).
    """
    current = CallStatus(call.status)
    if current.is_terminal or new.rank <= current.rank:
        return False
    call.status = new.value
    update: dict[str, Any] = dict(also or {})
    update["status"] = new.value
    if ended_reason is not None:
        call.ended_reason = update["ended_reason"] = ended_reason[:128]
    if failure_reason is not None:
        call.failure_reason = update["failure_reason"] = failure_reason[:500]
    assert uow.conn is not None
    await update_call(uow.conn, call.id, update)
    payload: dict[str, Any] = {"status": new.value, "previousStatus": current.value}
    if call.ended_reason:
        payload["endedReason"] = call.ended_reason
    if call.failure_reason:
        payload["failureReason"] = call.failure_reason
    await uow.emit(
        user_id=call.user_id, call_id=call.id, type=EventType.CALL_STATUS_CHANGED, payload=payload
    )
    return True


# --- starting a call ---------------------------------------------------------------------------


def max_duration_s(*, plan_minutes: int | None, balance_minor: int, pricing: Pricing) -> int:
    """min(plan minutes, what the balance pays for), never below VAPI's floor."""
    limit = (plan_minutes * 60) if plan_minutes else DEFAULT_MAX_DURATION_S
    if pricing.price_per_minute_minor > 0:
        limit = min(limit, balance_minor * 60 // pricing.price_per_minute_minor)
    return max(limit, MIN_DURATION_S)


async def start_call(
    *,
    effects: Effects,
    user_id: UUID,
    topic_id: UUID | None,
    now: datetime,
    pricing: Pricing,
    plan_slot: str | None = None,
) -> Call:
    """Check the learner may be called, then write the call and its ``dial`` job atomically.

    The balance row is locked first, which serialises every start (and every call charge) of one
    learner: two concurrent starts cannot both pass the "no active call" check. With
    ``plan_slot`` the start is idempotent: the slot's existing call is returned.
    """
    async with UnitOfWork(effects) as uow:
        user = await User.get_or_none(id=user_id, using_db=uow.conn)
        if user is None or user.status != "active":
            raise StartCallRefused(StartCallErrorCode.ACCOUNT_CLOSED, "This account is closed.")
        if user.processing_restricted:
            raise StartCallRefused(
                StartCallErrorCode.PROCESSING_RESTRICTED,
                "Processing of your data is restricted at your request, so we cannot call you.",
            )
        if not user.phone:
            raise StartCallRefused(
                StartCallErrorCode.NO_PHONE, "Add a phone number to your profile first.", "phone"
            )
        topic = await _choose_topic(uow, user_id, topic_id)
        balance = await lock_balance(uow.conn, user.account_ref, pricing.currency)
        if plan_slot is not None:
            existing = await Call.get_or_none(
                user_id=user_id, plan_slot=plan_slot, using_db=uow.conn
            )
            if existing is not None:
                return existing
        if await Call.filter(user_id=user_id, status__in=ACTIVE_STATUSES).using_db(
            uow.conn
        ).exists():
            raise StartCallRefused(
                StartCallErrorCode.CALL_ALREADY_ACTIVE,
                "A call is already in progress. Wait for it to end first.",
            )
        if balance.amount_minor < pricing.price_per_minute_minor or balance.amount_minor <= 0:
            raise StartCallRefused(
                StartCallErrorCode.INSUFFICIENT_BALANCE,
                "Your balance does not cover one minute of coaching. Top up first.",
            )
        plan = await CallPlan.get_or_none(user_id=user_id, using_db=uow.conn)
        call = await Call.create(
            user_id=user_id,
            topic_id=topic.id if topic else None,
            status=CallStatus.REQUESTED.value,
            plan_slot=plan_slot,
            max_duration_s=max_duration_s(
                plan_minutes=plan.minutes_per_call if plan else None,
                balance_minor=balance.amount_minor,
                pricing=pricing,
            ),
            requested_at=now,
            using_db=uow.conn,
        )
        await uow.enqueue(
            DIAL_JOB, {"call_id": str(call.id)}, run_at=now, dedupe_key=f"dial:{call.id}",
            max_attempts=3,
        )
        await uow.emit(
            user_id=user_id,
            call_id=call.id,
            type=EventType.CALL_STATUS_CHANGED,
            payload={"status": CallStatus.REQUESTED.value, "previousStatus": None},
        )
        return call


async def _choose_topic(uow: UnitOfWork, user_id: UUID, topic_id: UUID | None) -> Topic | None:
    """The asked-for active topic; with none asked, the learner's least recently used pick."""
    if topic_id is not None:
        topic = await Topic.get_or_none(id=topic_id, active=True, using_db=uow.conn)
        if topic is None:
            raise StartCallRefused(
                StartCallErrorCode.TOPIC_NOT_FOUND, "No such topic.", "topicId"
            )
        return topic
    picked = [
        t.topic_id
        for t in await UserTopic.filter(user_id=user_id, topic__active=True).using_db(uow.conn)
    ]
    if not picked:
        return None
    recent = cast(
        "list[UUID]",
        await Call.filter(user_id=user_id, topic_id__in=picked)
        .order_by("-requested_at")
        .limit(200)
        .using_db(uow.conn)
        .values_list("topic_id", flat=True),
    )
    order = {topic: i for i, topic in enumerate(dict.fromkeys(recent))}
    never_used = [t for t in picked if t not in order]
    choice = never_used[0] if never_used else max(picked, key=lambda t: order[t])
    return await Topic.get(id=choice, using_db=uow.conn)
