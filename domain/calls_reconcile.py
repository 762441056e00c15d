"""The reconciler: settle calls whose webhooks never came.

VAPI does not retry webhooks by default, so a lost ``ended`` or end-of-call report would leave a
call active forever (and block the learner's next call). Calls still unfinished past their
maximum duration plus a grace period are refreshed with ``GET /call/{id}`` and the answer is
applied exactly like a webhook. A call VAPI never confirmed, or no longer knows, fails.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from db.locks import lock_call
from db.models.calls import Call
from domain.calls import (
    ACTIVE_STATUSES,
    CallStatus,
    Dialer,
    DialUncertain,
    Pricing,
    ProviderUnavailable,
    move_status,
)
from domain.calls_reports import CallRef, EndOfCallReport, from_call_object
from domain.calls_webhooks import apply_message
from domain.jobs import JobHandler, JobRun
from domain.uow import Effects, UnitOfWork

logger = logging.getLogger("callfluently.calls")

RECONCILE_JOB = "reconcile_calls"
#: How long after its maximum duration a call may stay unfinished before we ask VAPI.
GRACE = timedelta(minutes=5)
BATCH = 100


def is_overdue(call: Call, now: datetime) -> bool:
    return call.requested_at + timedelta(seconds=call.max_duration_s) + GRACE < now


async def overdue_calls(now: datetime, limit: int = BATCH) -> list[Call]:
    """Active calls, and ended calls still waiting for their report, past their deadline."""
    candidates = await (
        Call.filter(
            status__in=(*ACTIVE_STATUSES, CallStatus.ENDED.value),
            charge_minor=None,
            requested_at__lt=now - GRACE,
        )
        .order_by("requested_at")
        .limit(limit * 5)
    )
    return [c for c in candidates if is_overdue(c, now)][:limit]


async def _fail(effects: Effects, call: Call, reason: str, *, pricing: Pricing,
                now: datetime) -> None:
    async with UnitOfWork(effects) as uow:
        if call.status == CallStatus.ENDED.value:
            # Ended but VAPI lost it: close it with what we know, free of charge.
            empty = EndOfCallReport(CallRef(call.provider_call_id, call.id), None, None, None,
                                    None, (), None)
            await apply_message(uow, empty, pricing=pricing, now=now)
            return
        locked = await lock_call(uow.conn, call.id)
        if locked is not None:
            await move_status(uow, locked, CallStatus.FAILED, failure_reason=reason)


async def refresh_call(
    *, effects: Effects, dialer: Dialer, call: Call, pricing: Pricing, now: datetime
) -> None:
    """Bring one overdue call up to date from VAPI."""
    if call.provider_call_id is None:
        await _fail(effects, call, "VAPI never confirmed the call.", pricing=pricing, now=now)
        return
    try:
        remote = await dialer.get_call(call.provider_call_id)
    except (ProviderUnavailable, DialUncertain):
        logger.warning("reconciler could not read a call", extra={"call_id": str(call.id)})
        return
    if remote is None:
        await _fail(effects, call, "VAPI has no record of the call.", pricing=pricing, now=now)
        return
    message = from_call_object(remote.data)
    if message is None:
        return
    async with UnitOfWork(effects) as uow:
        await apply_message(uow, message, pricing=pricing, now=now)


async def reconcile_calls(
    *, effects: Effects, dialer: Dialer, pricing: Pricing, now: datetime
) -> int:
    """Refresh every overdue call; returns how many were looked at."""
    calls = await overdue_calls(now)
    for call in calls:
        try:
            await refresh_call(effects=effects, dialer=dialer, call=call, pricing=pricing,
                               now=now)
        except Exception:
            # One call that cannot be settled must not keep every other one stuck.
            logger.exception("reconciling a call failed", extra={"call_id": str(call.id)})
    if calls:
        logger.info("reconciled calls", extra={"count": len(calls)})
    return len(calls)


def reconcile_handler(*, effects: Effects, dialer: Dialer, pricing: Pricing) -> JobHandler:
    """The periodic ``reconcile_calls`` job handler (see ``main.build_periodic``)."""

    async def handle(payload: dict[str, Any], run: JobRun) -> None:
        await reconcile_calls(effects=effects, dialer=dialer, pricing=pricing, now=run.now)

    return handle
