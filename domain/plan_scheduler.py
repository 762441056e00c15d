"""The plan scheduler: calls each learner at their plan's local time, once per slot.

Two job kinds. ``schedule_plan_calls`` is periodic (every minute, one job per minute across all
processes): it finds every active plan with a slot due now (``calls_scheduling.due_slot``) and
enqueues a ``plan_call`` job whose dedupe key names the learner and the slot, so recomputing the
same slot (a retry, an overlapping run, a second process) adds nothing. ``plan_call`` starts the
call through ``calls.start_call`` with the slot as ``plan_slot``, which is idempotent too.

A refusal (no balance, a call already running, no phone) is the learner's state, not a fault:
it is logged and the slot is skipped, never retried into a late call.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from db.models.plans import CallPlan
from domain.calls import Pricing, StartCallRefused, start_call
from domain.calls_scheduling import (
    CATCH_UP,
    PlanSchedule,
    due_slot,
    slot_dedupe_key,
    slot_name,
)
from domain.jobs import JobHandler, JobRun
from domain.uow import Effects, UnitOfWork

logger = logging.getLogger("callfluently.plans")

SCHEDULE_JOB = "schedule_plan_calls"
PLAN_CALL_JOB = "plan_call"
#: A ``plan_call`` job that could not run until this long after its slot is dropped.
STALE_AFTER = 2 * CATCH_UP


async def due_plan_calls(
    now: datetime, window: timedelta = CATCH_UP
) -> list[tuple[UUID, datetime]]:
    """(learner, slot) for every active plan of an active account with a slot due at ``now``."""
    rows = await CallPlan.filter(active=True, user__status="active").values(
        "user_id", "days_of_week", "local_time", "timezone", "effective_from"
    )
    due: list[tuple[UUID, datetime]] = []
    for row in rows:
        try:
            schedule = PlanSchedule.of(
                days_of_week=row["days_of_week"],
                local_time=row["local_time"],
                timezone=row["timezone"],
                effective_from=row["effective_from"],
            )
        except (ValueError, KeyError):
            # One damaged row must not stop everyone else's calls.
            logger.warning("unreadable call plan skipped", extra={"user_id": str(row["user_id"])})
            continue
        slot = due_slot(schedule, now, window)
        if slot is not None:
            due.append((row["user_id"], slot))
    return due


def schedule_plan_calls(*, effects: Effects) -> JobHandler:
    """The periodic handler: one ``plan_call`` job per due (learner, slot)."""

    async def handler(payload: dict[str, Any], run: JobRun) -> None:
        due = await due_plan_calls(run.now)
        if not due:
            return
        added = 0
        async with UnitOfWork(effects) as uow:
            for user_id, slot in due:
                added += await uow.enqueue(
                    PLAN_CALL_JOB,
                    {"user_id": str(user_id), "slot": slot_name(slot)},
                    run_at=run.now,
                    dedupe_key=slot_dedupe_key(user_id, slot),
                    max_attempts=3,
                )
        logger.info("plan calls scheduled", extra={"due": len(due), "enqueued": added})

    return handler


def plan_call(*, effects: Effects, pricing: Pricing) -> JobHandler:
    """Start the call of one plan slot, unless the plan changed or the slot went stale."""

    async def handler(payload: dict[str, Any], run: JobRun) -> None:
        user_id = UUID(payload["user_id"])
        slot = datetime.fromisoformat(payload["slot"])
        log = {"user_id": str(user_id), "slot": payload["slot"], "job_id": run.job_id}
        plan = await CallPlan.get_or_none(user_id=user_id)
        if plan is None or not plan.active or (
            plan.effective_from is not None and slot < plan.effective_from
        ):
            logger.info("plan call skipped: plan changed since scheduling", extra=log)
            return
        if run.now - slot > STALE_AFTER:
            logger.warning("plan call skipped: too late for its slot", extra=log)
            return
        try:
            call = await start_call(
                effects=effects, user_id=user_id, topic_id=None, now=run.now, pricing=pricing,
                plan_slot=payload["slot"],
            )
        except StartCallRefused as refusal:
            logger.info("plan call refused", extra={**log, "code": refusal.code.value})
            return
        logger.info("plan call started", extra={**log, "call_id": str(call.id)})

    return handler
