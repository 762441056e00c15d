"""Privacy requests as records: what a learner asked for, under which law, by when, and what we did.

Every right the policy grants (access, portability, correction, deletion, objection,
restriction) becomes a ``privacy_requests`` row with a due date 30 days after receipt and an
audit trail in ``audit_log``, so we can show the learner and a regulator (GDPR or KVKK) what
happened and when. Audit details never hold the personal data itself (no names, emails, phone
numbers or transcript text), only which fields or records were touched.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from typing import Any
from uuid import UUID

from db.models.accounts import User
from db.models.privacy import AuditLog, PrivacyRequest
from domain import accounts
from domain.errors import DomainError
from domain.live import EventType
from domain.principal import Principal
from domain.uow import Effects, UnitOfWork

#: GDPR Art. 12(3) and KVKK Art. 13 both give us 30 days to answer.
RESPONSE_WINDOW = timedelta(days=30)


class RequestKind(Enum):
    ACCESS = "access"
    PORTABILITY = "portability"
    CORRECTION = "correction"
    DELETION = "deletion"
    OBJECTION = "objection"
    RESTRICTION = "restriction"


class RequestStatus(Enum):
    RECEIVED = "received"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    REJECTED = "rejected"


class Jurisdiction(Enum):
    GDPR = "GDPR"
    KVKK = "KVKK"


@dataclass(frozen=True, slots=True)
class Actor:
    """Who did something to a learner's data: the learner, staff, or the system itself."""

    user_id: UUID | None
    role: str

    @classmethod
    def of(cls, principal: Principal) -> Actor:
        return cls(user_id=principal.user_id, role=principal.role.value)

    @classmethod
    def learner(cls, user_id: UUID) -> Actor:
        return cls(user_id=user_id, role="learner")


SYSTEM = Actor(user_id=None, role="system")


class SetJurisdictionErrorCode(Enum):
    ACCOUNT_CLOSED = "ACCOUNT_CLOSED"


class SetJurisdictionRefused(DomainError):
    pass


def jurisdiction_of(user: User) -> Jurisdiction:
    """The learner's own choice, else KVKK for a Turkish phone number, else GDPR."""
    if user.jurisdiction in {j.value for j in Jurisdiction}:
        return Jurisdiction(user.jurisdiction)
    return Jurisdiction(accounts.jurisdiction_for_phone(user.phone))


async def audit(
    uow: UnitOfWork,
    *,
    subject_id: UUID | None,
    actor: Actor,
    action: str,
    now: datetime,
    reason: str | None = None,
    details: dict[str, Any] | None = None,
    request_id: UUID | None = None,
) -> AuditLog:
    """Append one audit-log row inside ``uow``."""
    return await AuditLog.create(
        subject_id=subject_id,
        actor_id=actor.user_id,
        actor_role=actor.role,
        action=action,
        reason=reason,
        details=details or {},
        request_id=request_id,
        created_at=now,
        using_db=uow.conn,
    )


async def open_request(
    uow: UnitOfWork,
    *,
    user: User,
    kind: RequestKind,
    now: datetime,
    actor: Actor | None = None,
    details: dict[str, Any] | None = None,
    emit: bool = True,
) -> PrivacyRequest:
    """Record a request as received (due in 30 days), audit it and tell the learner's dashboards."""
    request = await PrivacyRequest.create(
        user_id=user.id,
        account_ref=user.account_ref,
        kind=kind.value,
        jurisdiction=jurisdiction_of(user).value,
        status=RequestStatus.RECEIVED.value,
        received_at=now,
        due_at=now + RESPONSE_WINDOW,
        details=details or {},
        using_db=uow.conn,
    )
    await audit(
        uow, subject_id=user.id, actor=actor or Actor.learner(user.id), action="request.received",
        now=now, request_id=request.id, details={"kind": kind.value},
    )
    if emit:
        await _emit(uow, request)
    return request


async def set_status(
    uow: UnitOfWork,
    request: PrivacyRequest,
    status: RequestStatus,
    *,
    now: datetime,
    actor: Actor = SYSTEM,
    action: str | None = None,
    details: dict[str, Any] | None = None,
    emit: bool = True,
) -> None:
    """Move ``request`` to ``status`` with an audit entry; completed and rejected are final."""
    request.status = status.value
    update: dict[str, Any] = {"status": status.value}
    if status in (RequestStatus.COMPLETED, RequestStatus.REJECTED):
        request.completed_at = update["completed_at"] = now
    await PrivacyRequest.filter(id=request.id).using_db(uow.conn).update(**update)
    await audit(
        uow, subject_id=request.user_id, actor=actor, action=action or f"request.{status.value}",
        now=now, request_id=request.id, details=details,
    )
    if emit and request.user_id is not None:
        await _emit(uow, request)


async def _emit(uow: UnitOfWork, request: PrivacyRequest) -> None:
    assert request.user_id is not None
    await uow.emit(
        user_id=request.user_id,
        type=EventType.PRIVACY_REQUEST_UPDATED,
        payload={"requestId": str(request.id), "kind": request.kind, "status": request.status},
    )


async def record_completed(
    uow: UnitOfWork,
    *,
    user: User,
    kind: RequestKind,
    now: datetime,
    action: str,
    details: dict[str, Any] | None = None,
) -> PrivacyRequest:
    """A request we fulfil at once (correction, objection): received and completed together."""
    request = await open_request(uow, user=user, kind=kind, now=now, details=details, emit=False)
    await set_status(
        uow, request, RequestStatus.COMPLETED, now=now, actor=Actor.learner(user.id),
        action=action, details=details,
    )
    return request


async def record_correction(
    uow: UnitOfWork, *, user: User, fields: list[str], now: datetime
) -> PrivacyRequest:
    """A profile correction (right to rectification), recorded by which fields changed."""
    return await record_completed(
        uow, user=user, kind=RequestKind.CORRECTION, now=now, action="profile.corrected",
        details={"fields": sorted(fields)},
    )


async def list_requests(*, user_id: UUID, limit: int) -> list[PrivacyRequest]:
    """The learner's own requests, newest first."""
    return await PrivacyRequest.filter(user_id=user_id).order_by("-received_at", "-id").limit(
        limit)


async def get_own_request(*, user_id: UUID, request_id: UUID) -> PrivacyRequest | None:
    """One of the learner's own requests; someone else's is None (never reveal it exists)."""
    return await PrivacyRequest.get_or_none(id=request_id, user_id=user_id)


async def audit_trails(request_ids: list[UUID]) -> list[list[AuditLog]]:
    """Each request's audit entries, oldest first, in the order of ``request_ids``."""
    rows = await AuditLog.filter(request_id__in=request_ids).order_by("created_at", "id")
    by_request: dict[UUID, list[AuditLog]] = defaultdict(list)
    for row in rows:
        assert row.request_id is not None
        by_request[row.request_id].append(row)
    return [by_request[r] for r in request_ids]


async def set_jurisdiction(
    *, effects: Effects, user_id: UUID, jurisdiction: Jurisdiction, now: datetime
) -> User:
    """The learner chooses the law their requests are handled under (GDPR or KVKK)."""
    async with UnitOfWork(effects) as uow:
        user = await User.filter(id=user_id).using_db(uow.conn).get()
        if user.status != "active":
            raise SetJurisdictionRefused(
                SetJurisdictionErrorCode.ACCOUNT_CLOSED, "This account is closed."
            )
        if user.jurisdiction != jurisdiction.value:
            previous = user.jurisdiction
            user.jurisdiction = jurisdiction.value
            await User.filter(id=user_id).using_db(uow.conn).update(
                jurisdiction=jurisdiction.value
            )
            await audit(
                uow, subject_id=user_id, actor=Actor.learner(user_id),
                action="jurisdiction.changed", now=now,
                details={"from": previous, "to": jurisdiction.value},
            )
        return user


async def list_for_staff(
    *, kind: RequestKind | None, status: RequestStatus | None, limit: int
) -> list[PrivacyRequest]:
    """Requests for support to work through (e.g. refunds due at closure), oldest due first.

    The rows are pseudonymous (account reference, kind, dates, counts), so listing them is not
    a read of a learner's personal data.
    """
    query = PrivacyRequest.all()
    if kind is not None:
        query = query.filter(kind=kind.value)
    if status is not None:
        query = query.filter(status=status.value)
    return await query.order_by("due_at", "id").limit(limit)
