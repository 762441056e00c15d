"""Finishing a call from its end-of-call report: turns, recording link, charge, analysis.

Runs once per call, under the learner's balance lock and the call's row lock (in that order):
``charge_minor`` is set in the same transaction as the ledger entry, so a call with a charge
(zero for a free call) is finished and every later report is a no-op.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from db.models.accounts import User
from db.models.calls import Call, TranscriptTurn
from domain.calls import CallStatus, Pricing, move_status
from domain.calls_billing import charge_for, post_charge
from domain.calls_end_reasons import policy_for
from domain.calls_reports import EndOfCallReport, Turn
from domain.live import EventType
from domain.progress_record import record_call
from domain.uow import UnitOfWork

#: VAPI keeps recordings 30 days, so our link to one lives as long (privacy policy).
RECORDING_TTL = timedelta(days=30)
ANALYZE_JOB = "analyze"


def is_finished(call: Call) -> bool:
    return call.charge_minor is not None or call.status == CallStatus.FAILED.value


async def replace_turns(uow: UnitOfWork, call: Call, turns: tuple[Turn, ...]) -> None:
    """Make ``turns`` the call's whole transcript, numbered from 1."""
    await TranscriptTurn.filter(call_id=call.id).using_db(uow.conn).delete()
    if turns:
        await TranscriptTurn.bulk_create(
            [
                TranscriptTurn(call_id=call.id, seq=i, role=t.role, text=t.text,
                               start_s=t.start_s, end_s=t.end_s)
                for i, t in enumerate(turns, start=1)
            ],
            using_db=uow.conn,
        )


async def finish_call(
    uow: UnitOfWork,
    *,
    call: Call,
    user: User,
    report: EndOfCallReport,
    pricing: Pricing,
    now: datetime,
) -> bool:
    """Finalise ``call`` (locked, with its learner's balance locked first); False if it was.

    The ended reason decides (``policy_for``): a normal end of an answered call is billed; a
    fault is free but keeps what was said (transcript, recording, analysis); a call that never
    reached the learner (unanswered, busy, voicemail) keeps nothing: there is nothing of the
    learner worth keeping.
    """
    if is_finished(call):
        return False
    started_at = report.started_at or call.started_at
    ended_at = report.ended_at or call.ended_at or now
    duration = report.duration_s
    if duration is None and started_at is not None:
        duration = max((ended_at - started_at).total_seconds(), 0.0)
    answered = started_at is not None and (duration or 0) > 0
    reason = report.ended_reason or call.ended_reason
    policy = policy_for(reason)
    keeps_lesson = answered and policy.keeps_lesson
    charge = charge_for(
        duration, pricing, answered and policy.billed, cap_s=call.max_duration_s
    )

    await move_status(uow, call, CallStatus.ENDED, ended_reason=reason)
    if not keeps_lesson:
        await replace_turns(uow, call, ())
    elif report.turns is not None:
        await replace_turns(uow, call, report.turns)
    recording = report.recording_url if keeps_lesson else None
    update: dict[str, Any] = {
        "ended_reason": reason[:128] if reason else None,
        "started_at": started_at,
        "ended_at": ended_at,
        "duration_s": round(duration) if duration is not None else 0,
        "billable_s": charge.billable_s,
        "charge_minor": charge.amount_minor,
        "recording_url": recording[:1000] if recording else None,
        "recording_expires_at": ended_at + RECORDING_TTL if recording else None,
    }
    await Call.filter(id=call.id).using_db(uow.conn).update(**update)
    for key, value in update.items():
        setattr(call, key, value)
    await post_charge(uow, call=call, user=user, charge=charge, pricing=pricing)
    await uow.emit(
        user_id=user.id,
        call_id=call.id,
        type=EventType.CALL_ENDED,
        payload={
            "status": call.status,
            "endedReason": call.ended_reason,
            "durationS": call.duration_s,
            "chargeMinor": charge.amount_minor,
            "currency": pricing.currency,
        },
    )
    # Progress counts every answered call (streak, minutes), analysed or not, in this same
    # transaction; the analysis adds its scores later.
    await record_call(uow.conn, call=call, timezone=user.timezone)
    await _maybe_analyse(uow, call=call, user=user, conversation=keeps_lesson, now=now)
    return True


async def _maybe_analyse(
    uow: UnitOfWork, *, call: Call, user: User, conversation: bool, now: datetime
) -> None:
    """Queue the analysis of a real conversation, unless the learner objected or restricted."""
    if not conversation or user.objects_to_analysis or user.processing_restricted:
        return
    if not await TranscriptTurn.filter(call_id=call.id, role="learner").using_db(
        uow.conn
    ).exists():
        return
    await uow.enqueue(
        ANALYZE_JOB, {"call_id": str(call.id)}, run_at=now, dedupe_key=f"analyze:{call.id}"
    )
