"""Applying what VAPI tells us (webhooks, or the reconciler's ``GET /call``) to our calls.

VAPI documents no ordering and may deliver twice, so every message is applied so that any
order gives the same end state: status moves forward only, a final transcript line is stored
once, and the end-of-call report is authoritative for the transcript and finishes the call once.
A message can arrive before our ``dial`` job stored VAPI's call id: it is matched through
``customer.externalId``, which is our call id.
"""

from __future__ import annotations

import logging
from datetime import datetime
from enum import Enum
from uuid import UUID

from tortoise.exceptions import IntegrityError

from db.hot_writes import append_final_turn, call_for_update, record_delivery, update_call
from db.locks import lock_balance, lock_call
from db.models.accounts import User
from db.models.calls import Call, TranscriptTurn
from db.models.ops import WebhookDelivery
from domain.calls import CallStatus, Pricing, move_status
from domain.calls_ending import finish_call, is_finished, replace_turns
from domain.calls_reports import (
    CallRef,
    ConversationUpdate,
    EndOfCallReport,
    Message,
    StatusUpdate,
    TranscriptLine,
)
from domain.live import EventType
from domain.uow import Effects, UnitOfWork

logger = logging.getLogger("callfluently.calls")

PROVIDER = "vapi"


async def find_call(uow: UnitOfWork, ref: CallRef, *, lock: bool = False) -> Call | None:
    """Our call named by VAPI's id or, before we stored that id, by ``externalId``.

    ``lock``: read it locked until commit (db/locks.py), so no second read is needed to lock
    it; only for messages that lock nothing before the call (not the end-of-call report).
    """
    assert uow.conn is not None
    if ref.provider_call_id:
        if lock:
            call = await call_for_update(uow.conn, provider_call_id=ref.provider_call_id)
        else:
            call = await Call.get_or_none(provider_call_id=ref.provider_call_id, using_db=uow.conn)
        if call is not None:
            return call
    if ref.external_id is None:
        return None
    if lock:
        call = await call_for_update(uow.conn, call_id=ref.external_id)
    else:
        call = await Call.get_or_none(id=ref.external_id, using_db=uow.conn)
    if call is not None and call.provider_call_id and ref.provider_call_id:
        return None  # our call is bound to another VAPI call: this message is not about it
    return call


class Outcome(Enum):
    APPLIED = "applied"
    DUPLICATE = "duplicate"
    NOT_OURS = "not_ours"
    IGNORED = "ignored"


async def receive(
    *,
    effects: Effects,
    message: Message | None,
    dedupe_key: str,
    body: str,
    pricing: Pricing,
    now: datetime,
) -> Outcome:
    """Store a verified delivery once and apply it in the same transaction.

    A delivery already stored is a no-op, so VAPI (or anyone replaying a captured, still
    validly signed request) can repeat a message without effect: the delivery row is written
    with ``ON CONFLICT DO NOTHING`` and nothing is applied when it was already there.
    """
    if message is None:
        return Outcome.IGNORED
    locked = not isinstance(message, EndOfCallReport)
    try:
        async with UnitOfWork(effects) as uow:
            assert uow.conn is not None
            found = await find_call(uow, message.ref, lock=locked)
            stored = await record_delivery(
                uow.conn, provider=PROVIDER, dedupe_key=dedupe_key, body=body,
                user_id=found.user_id if found else None,
            )
            if stored and found is not None:
                await apply_to_call(uow, found, message, pricing=pricing, now=now, locked=locked)
    except IntegrityError:
        # A concurrent delivery of the same message won the unique index, or something else
        # broke: only the former is safe to acknowledge.
        if await WebhookDelivery.exists(provider=PROVIDER, dedupe_key=dedupe_key):
            return Outcome.DUPLICATE
        raise
    if not stored:
        return Outcome.DUPLICATE
    if found is None:
        logger.info("vapi message for an unknown call",
                    extra={"provider_call_id": message.ref.provider_call_id})
        return Outcome.NOT_OURS
    return Outcome.APPLIED


async def apply_message(
    uow: UnitOfWork, message: Message, *, pricing: Pricing, now: datetime
) -> UUID | None:
    """Apply ``message`` inside ``uow``; returns the learner it concerned (None: not our call)."""
    found = await find_call(uow, message.ref)
    if found is None:
        return None
    await apply_to_call(uow, found, message, pricing=pricing, now=now)
    return found.user_id


async def apply_to_call(
    uow: UnitOfWork,
    found: Call,
    message: Message,
    *,
    pricing: Pricing,
    now: datetime,
    locked: bool = False,
) -> None:
    """Lock the call (after the learner's balance, for a report) and apply ``message``.

    ``locked``: ``found`` was read locked already (``find_call(lock=True)``).
    """
    assert uow.conn is not None
    user: User | None = None
    if isinstance(message, EndOfCallReport):
        # Lock order: balance first, then call (db/locks.py).
        user = await User.get(id=found.user_id, using_db=uow.conn)
        await lock_balance(uow.conn, user.account_ref, pricing.currency)
    call = found if locked else await lock_call(uow.conn, found.id)
    assert call is not None
    if call.provider_call_id is None and message.ref.provider_call_id:
        call.provider_call_id = message.ref.provider_call_id
        await update_call(uow.conn, call.id, {"provider_call_id": call.provider_call_id})
    if isinstance(message, StatusUpdate):
        await _apply_status(uow, call, message)
    elif isinstance(message, TranscriptLine):
        await _apply_transcript(uow, call, message)
    elif isinstance(message, ConversationUpdate):
        if not is_finished(call) and len(message.turns) >= await _turn_count(uow, call):
            await replace_turns(uow, call, message.turns)
    else:
        assert user is not None
        await finish_call(uow, call=call, user=user, report=message, pricing=pricing, now=now)


async def _apply_status(uow: UnitOfWork, call: Call, message: StatusUpdate) -> None:
    """Record the times VAPI reports (once, until the call is finished) and move the status;
    both go in one UPDATE when the status moves."""
    assert uow.conn is not None
    times: dict[str, datetime] = {}
    if message.started_at and call.started_at is None:
        times["started_at"] = call.started_at = message.started_at
    if message.status is CallStatus.ENDED and call.ended_at is None and message.ended_at:
        times["ended_at"] = call.ended_at = message.ended_at
    write_times = bool(times) and not is_finished(call)
    moved = await move_status(
        uow, call, message.status, ended_reason=message.ended_reason,
        also=times if write_times else None,
    )
    if write_times and not moved:
        await update_call(uow.conn, call.id, times)


async def _turn_count(uow: UnitOfWork, call: Call) -> int:
    return await TranscriptTurn.filter(call_id=call.id).using_db(uow.conn).count()


async def _apply_transcript(uow: UnitOfWork, call: Call, line: TranscriptLine) -> None:
    """Publish the line live; store a final one once (the end-of-call report supersedes it)."""
    if is_finished(call):
        return
    payload: dict[str, object] = {"role": line.role, "text": line.text, "final": line.final}
    if line.final:
        assert uow.conn is not None
        seq = await append_final_turn(uow.conn, call_id=call.id, role=line.role, text=line.text)
        if seq is None:
            return  # this exact line is stored already
        payload["seq"] = seq
    await uow.emit(
        user_id=call.user_id, call_id=call.id, type=EventType.CALL_TRANSCRIPT, payload=payload
    )
