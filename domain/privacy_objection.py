"""Objection and restriction: the learner limits what we do with their data.

Objecting to analysis stops every future Claude request for the learner: queued ``analyze`` jobs
are cancelled and pending analyses are marked skipped here, ``finish_call`` queues no new ones,
and the analysis job re-checks the flag when it runs. Restriction (while the learner disputes
something) freezes processing: no call is started (``start_call`` refuses), queued dials and
analyses are cancelled, and nothing resumes until the learner lifts it.
"""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from uuid import UUID

from db.locks import lock_call, lock_user
from db.mentions import ids_mentioning
from db.models.accounts import User
from db.models.analysis import Analysis
from db.models.calls import Call
from db.models.ops import Job
from db.models.privacy import PrivacyRequest
from domain import privacy
from domain.calls import CallStatus, move_status
from domain.errors import DomainError
from domain.privacy import Actor, RequestKind, RequestStatus
from domain.uow import Effects, UnitOfWork

ANALYZE_JOBS = ("analyze",)
PROCESSING_JOBS = ("analyze", "dial", "plan_call")
MAX_REASON = 1000


class SetProcessingObjectionsErrorCode(Enum):
    NOTHING_TO_CHANGE = "NOTHING_TO_CHANGE"
    ACCOUNT_CLOSED = "ACCOUNT_CLOSED"


class SetProcessingObjectionsRefused(DomainError):
    pass


class SetProcessingRestrictionErrorCode(Enum):
    REASON_TOO_LONG = "REASON_TOO_LONG"
    ACCOUNT_CLOSED = "ACCOUNT_CLOSED"


class SetProcessingRestrictionRefused(DomainError):
    pass


async def cancel_jobs(
    uow: UnitOfWork, *, user_id: UUID, kinds: tuple[str, ...], why: str, now: datetime
) -> int:
    """Cancel the learner's queued jobs of ``kinds`` (found by their user or call ids)."""
    call_ids = await Call.filter(user_id=user_id).using_db(uow.conn).values_list("id", flat=True)
    needles = {str(user_id), *map(str, call_ids)}
    ids = await ids_mentioning(Job, "payload", needles, conn=uow.conn)
    return await Job.filter(id__in=ids, kind__in=kinds, status="queued").using_db(
        uow.conn
    ).update(status="cancelled", finished_at=now, last_error=f"cancelled: {why}")


async def _skip_pending_analyses(uow: UnitOfWork, user_id: UUID, why: str) -> int:
    return await Analysis.filter(user_id=user_id, status="pending").using_db(uow.conn).update(
        status="skipped", error=why
    )


async def set_processing_objections(
    *,
    effects: Effects,
    user_id: UUID,
    analysis: bool | None,
    service_improvement: bool | None,
    now: datetime,
) -> User:
    """Set the learner's objections; each change is a completed objection request."""
    if analysis is None and service_improvement is None:
        raise SetProcessingObjectionsRefused(
            SetProcessingObjectionsErrorCode.NOTHING_TO_CHANGE,
            "Say which processing you object to (analysis, serviceImprovement).",
        )
    async with UnitOfWork(effects) as uow:
        details: dict[str, object] = {}
        if analysis:
            # Jobs and analyses before the user row: the lock order is analysis, then user.
            why = "learner objected to analysis"
            details["jobsCancelled"] = await cancel_jobs(
                uow, user_id=user_id, kinds=ANALYZE_JOBS, why=why, now=now)
            details["analysesSkipped"] = await _skip_pending_analyses(uow, user_id, why)
        user = await lock_user(uow.conn, user_id)
        if user is None or user.status != "active":
            raise SetProcessingObjectionsRefused(
                SetProcessingObjectionsErrorCode.ACCOUNT_CLOSED, "This account is closed."
            )
        changes: dict[str, bool] = {}
        if analysis is not None and analysis != user.objects_to_analysis:
            user.objects_to_analysis = changes["analysis"] = analysis
        if (service_improvement is not None
                and service_improvement != user.objects_to_service_improvement):
            user.objects_to_service_improvement = service_improvement
            changes["serviceImprovement"] = service_improvement
        if not changes:
            return user
        await User.filter(id=user_id).using_db(uow.conn).update(
            objects_to_analysis=user.objects_to_analysis,
            objects_to_service_improvement=user.objects_to_service_improvement,
        )
        await privacy.record_completed(
            uow, user=user, kind=RequestKind.OBJECTION, now=now, action="objection.recorded",
            details={**changes, **details},
        )
        return user


async def set_processing_restriction(
    *, effects: Effects, user_id: UUID, restricted: bool, reason: str | None, now: datetime
) -> User:
    """Restrict processing while the learner disputes something, or lift the restriction."""
    reason = (reason or "").strip() or None
    if reason is not None and len(reason) > MAX_REASON:
        raise SetProcessingRestrictionRefused(
            SetProcessingRestrictionErrorCode.REASON_TOO_LONG,
            f"Keep the reason under {MAX_REASON} characters.", "reason",
        )
    async with UnitOfWork(effects) as uow:
        user = await User.filter(id=user_id).using_db(uow.conn).first()
        if user is None or user.status != "active":
            raise SetProcessingRestrictionRefused(
                SetProcessingRestrictionErrorCode.ACCOUNT_CLOSED, "This account is closed."
            )
        if user.processing_restricted == restricted:
            return user
        stopped = await _stop_processing(uow, user_id, now) if restricted else None
        # Compare-and-set on the flag: of two concurrent requests only one records a change.
        changed = await User.filter(
            id=user_id, status="active", processing_restricted=not restricted
        ).using_db(uow.conn).update(processing_restricted=restricted)
        if not changed:
            return await User.filter(id=user_id).using_db(uow.conn).get()
        user.processing_restricted = restricted
        if stopped is not None:
            await _restrict(uow, user, reason, stopped, now)
        else:
            await _lift(uow, user, reason, now)
        return user


async def _stop_processing(uow: UnitOfWork, user_id: UUID, now: datetime) -> dict[str, int]:
    """Cancel queued dials and analyses, fail calls not yet dialled, skip pending analyses.

    Calls are locked before anything touches the user row (lock order: call, …, user).
    """
    why = "processing restricted by the learner"
    cancelled = await cancel_jobs(uow, user_id=user_id, kinds=PROCESSING_JOBS, why=why, now=now)
    waiting: list[UUID] = await Call.filter(
        user_id=user_id, status=CallStatus.REQUESTED.value
    ).using_db(uow.conn).values_list("id", flat=True)  # type: ignore[assignment]
    stopped = 0
    for call_id in waiting:
        call = await lock_call(uow.conn, call_id)
        if call is not None and await move_status(
            uow, call, CallStatus.FAILED, failure_reason="Processing restricted."
        ):
            stopped += 1
    skipped = await _skip_pending_analyses(uow, user_id, why)
    return {"jobsCancelled": cancelled, "callsStopped": stopped, "analysesSkipped": skipped}


async def _restrict(
    uow: UnitOfWork, user: User, reason: str | None, stopped: dict[str, int], now: datetime
) -> None:
    request = await privacy.open_request(uow, user=user, kind=RequestKind.RESTRICTION, now=now)
    await privacy.audit(
        uow, subject_id=user.id, actor=Actor.learner(user.id), action="restriction.applied",
        now=now, reason=reason, request_id=request.id, details=dict(stopped),
    )
    await privacy.set_status(
        uow, request, RequestStatus.IN_PROGRESS, now=now, actor=Actor.learner(user.id),
        action="restriction.in_force",
    )


async def _lift(uow: UnitOfWork, user: User, reason: str | None, now: datetime) -> None:
    open_requests = await PrivacyRequest.filter(
        user_id=user.id, kind=RequestKind.RESTRICTION.value,
        status__in=(RequestStatus.RECEIVED.value, RequestStatus.IN_PROGRESS.value),
    ).using_db(uow.conn)
    for request in open_requests:
        await privacy.set_status(
            uow, request, RequestStatus.COMPLETED, now=now, actor=Actor.learner(user.id),
            action="restriction.lifted", details={"reason": "lifted by the learner"},
        )
    if reason:
        await privacy.audit(
            uow, subject_id=user.id, actor=Actor.learner(user.id), action="restriction.note",
            now=now, reason=reason,
        )
