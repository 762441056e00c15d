"""Support access to a learner's data, for troubleshooting, always with a reason on record.

Every read by the support role writes an ``audit_log`` row (who, when, what, why) in the same
transaction as the read, so no read goes unrecorded. Learners see these rows as their
``accessLog``. Support sees call metadata and analysis scores, not transcript text: the policy
names "customer support and troubleshooting" as a purpose, and metadata is what that needs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from uuid import UUID

from db.models.accounts import User
from db.models.analysis import Analysis
from db.models.calls import Call
from db.models.privacy import AuditLog
from domain import privacy
from domain.accounts import normalise_email
from domain.errors import DomainError
from domain.privacy import Actor
from domain.uow import Effects, UnitOfWork

MIN_REASON = 5
MAX_REASON = 500
STAFF_ROLES = ("support", "admin")


class SupportAccessErrorCode(Enum):
    REASON_REQUIRED = "REASON_REQUIRED"
    LEARNER_REQUIRED = "LEARNER_REQUIRED"
    NOT_FOUND = "NOT_FOUND"


class SupportAccessRefused(DomainError):
    pass


@dataclass(frozen=True, slots=True)
class CallWithAnalysis:
    call: Call
    analysis: Analysis | None


def _clean_reason(reason: str) -> str:
    text = " ".join(reason.split())
    if not MIN_REASON <= len(text) <= MAX_REASON:
        raise SupportAccessRefused(
            SupportAccessErrorCode.REASON_REQUIRED,
            f"Give the reason for this access ({MIN_REASON} to {MAX_REASON} characters); "
            "the learner can see it.",
            "reason",
        )
    return text


async def _find(uow: UnitOfWork, email: str | None, user_id: UUID | None) -> User:
    if (email is None) == (user_id is None):
        raise SupportAccessRefused(
            SupportAccessErrorCode.LEARNER_REQUIRED, "Give either an email or a user id.", None
        )
    query = User.filter(role="learner", status="active")
    if email is not None:
        normal = normalise_email(email)
        user = await query.filter(email=normal).using_db(uow.conn).first() if normal else None
    else:
        user = await query.filter(id=user_id).using_db(uow.conn).first()
    if user is None:
        raise SupportAccessRefused(SupportAccessErrorCode.NOT_FOUND, "No such learner.", None)
    return user


async def lookup_learner(
    *, effects: Effects, actor: Actor, email: str | None, user_id: UUID | None, reason: str,
    now: datetime,
) -> User:
    """Find an active learner by email or id; the lookup is audited with its reason."""
    why = _clean_reason(reason)
    async with UnitOfWork(effects) as uow:
        user = await _find(uow, email, user_id)
        await privacy.audit(
            uow, subject_id=user.id, actor=actor, action="support.lookup_learner", now=now,
            reason=why, details={"by": "email" if email is not None else "id"},
        )
        return user


async def learner_calls(
    *, effects: Effects, actor: Actor, user_id: UUID, reason: str, now: datetime, limit: int,
) -> list[CallWithAnalysis]:
    """The learner's most recent calls with their analyses; audited with its reason."""
    why = _clean_reason(reason)
    async with UnitOfWork(effects) as uow:
        user = await _find(uow, None, user_id)
        calls = await Call.filter(user_id=user.id).using_db(uow.conn).order_by(
            "-requested_at", "-id").limit(limit)
        analyses = {
            a.call_id: a
            for a in await Analysis.filter(call_id__in=[c.id for c in calls]).using_db(uow.conn)
        }
        await privacy.audit(
            uow, subject_id=user.id, actor=actor, action="support.read_calls", now=now,
            reason=why, details={"calls": len(calls)},
        )
        return [CallWithAnalysis(call=c, analysis=analyses.get(c.id)) for c in calls]


async def access_log(*, user_id: UUID, limit: int) -> list[AuditLog]:
    """Who of our staff accessed the learner's data, newest first."""
    return await AuditLog.filter(subject_id=user_id, actor_role__in=STAFF_ROLES).order_by(
        "-created_at", "-id").limit(limit)
