"""Account deletion (right to erasure): confirm it is the learner, then close the account at once.

One transaction signs out every session, stops scheduled calls (plan and queued jobs go), erases
the learner's service data (``privacy_erasure``), detaches payment records and marks the account
closed, so the learner's tokens stop working on the next request. Recordings live at VAPI: a
job deletes each call there (``DELETE /call/{id}``, which also ends a call still in progress)
and then completes the request. A positive balance at closure is written into the request for
support to refund.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from enum import Enum
from typing import Any, Protocol
from uuid import UUID

from db.locks import lock_balance, lock_user
from db.models.accounts import Session, User
from db.models.billing import Balance
from db.models.privacy import PrivacyRequest
from domain import privacy, throttle
from domain.errors import DomainError
from domain.jobs import JobHandler, JobRun, RetryLater
from domain.passwords import MAX_BYTES, PasswordHasher
from domain.privacy import RequestKind, RequestStatus
from domain.privacy_erasure import Erasure, erase_learner, scrub_webhook_bodies
from domain.uow import Effects, UnitOfWork

logger = logging.getLogger("callfluently.privacy")

#: A Google-only learner confirms by having signed in this recently.
REAUTH_WINDOW = timedelta(minutes=10)
ERASE_RECORDINGS_JOB = "privacy_erase_recordings"


class RequestAccountDeletionErrorCode(Enum):
    PASSWORD_REQUIRED = "PASSWORD_REQUIRED"
    INVALID_CREDENTIALS = "INVALID_CREDENTIALS"
    REAUTHENTICATION_REQUIRED = "REAUTHENTICATION_REQUIRED"
    THROTTLED = "THROTTLED"
    ACCOUNT_CLOSED = "ACCOUNT_CLOSED"


class RequestAccountDeletionRefused(DomainError):
    pass


class RecordingEraser(Protocol):
    """Deletes a call and its recording at the voice provider; False when it was already gone."""

    async def delete_call(self, provider_call_id: str) -> bool: ...


async def _confirm_identity(
    *, hasher: PasswordHasher, user: User, password: str | None, now: datetime
) -> None:
    """The password for accounts that have one; a sign-in in the last 10 minutes otherwise."""
    if user.password_hash is None:
        if user.last_sign_in_at is None or user.last_sign_in_at < now - REAUTH_WINDOW:
            raise RequestAccountDeletionRefused(
                RequestAccountDeletionErrorCode.REAUTHENTICATION_REQUIRED,
                "Sign in with Google again, then confirm the deletion within 10 minutes.",
            )
        return
    if not password:
        raise RequestAccountDeletionRefused(
            RequestAccountDeletionErrorCode.PASSWORD_REQUIRED,
            "Enter your password to confirm.", "password",
        )
    keys = [throttle.account_key(user.email or str(user.id))]
    if await throttle.locked_for(keys, now) is not None:
        raise RequestAccountDeletionRefused(
            RequestAccountDeletionErrorCode.THROTTLED,
            "Too many wrong passwords. Try again in a few minutes.", "password",
        )
    too_long = len(password.encode("utf-8")) > MAX_BYTES
    if too_long or not await hasher.verify(password, user.password_hash):
        await throttle.record_failure(keys, now)
        raise RequestAccountDeletionRefused(
            RequestAccountDeletionErrorCode.INVALID_CREDENTIALS,
            "The password is not correct.", "password",
        )


async def request_account_deletion(
    *, effects: Effects, hasher: PasswordHasher, user_id: UUID, password: str | None, now: datetime
) -> PrivacyRequest:
    """Close the learner's account now; recordings are deleted at VAPI right after commit."""
    user = await User.get_or_none(id=user_id)
    if user is None or user.status != "active":
        raise RequestAccountDeletionRefused(
            RequestAccountDeletionErrorCode.ACCOUNT_CLOSED, "This account is already closed."
        )
    await _confirm_identity(hasher=hasher, user=user, password=password, now=now)
    async with UnitOfWork(effects) as uow:
        cached = await Balance.filter(account_ref=user.account_ref).using_db(uow.conn).first()
        balance = (
            await lock_balance(uow.conn, user.account_ref, cached.currency) if cached else None
        )
        locked = await lock_user(uow.conn, user_id)
        if locked is None or locked.status != "active":
            raise RequestAccountDeletionRefused(
                RequestAccountDeletionErrorCode.ACCOUNT_CLOSED, "This account is already closed."
            )
        details: dict[str, Any] = {"accountRef": str(locked.account_ref)}
        if balance is not None:
            details["balanceAtClosure"] = {
                "amountMinor": balance.amount_minor, "currency": balance.currency,
            }
            details["refundDue"] = balance.amount_minor > 0
        request = await privacy.open_request(
            uow, user=locked, kind=RequestKind.DELETION, now=now, details=details, emit=False
        )
        erasure = await erase_learner(uow, user=locked)
        erasure.add("sessions_revoked", await Session.filter(
            user_id=user_id, revoked_at=None).using_db(uow.conn).update(
                revoked_at=now, revoked_reason="account_closed"))
        await _close(uow, locked, now)
        await privacy.set_status(
            uow, request, RequestStatus.IN_PROGRESS, now=now, action="account.closed",
            details={"erased": erasure.counts}, emit=False,
        )
        await _follow_up(uow, request, erasure, now)
    logger.info("account closed", extra={"request_id": str(request.id)})
    return request


async def _close(uow: UnitOfWork, user: User, now: datetime) -> None:
    """Mark the account closed and drop what identifies the person from its row."""
    await User.filter(id=user.id).using_db(uow.conn).update(
        status="closed", closed_at=now, full_name=None, email=None, phone=None,
        password_hash=None, google_sub=None, cefr_level=None, level_under_review=False,
        timezone="UTC",
    )


async def _follow_up(
    uow: UnitOfWork, request: PrivacyRequest, erasure: Erasure, now: datetime
) -> None:
    if erasure.provider_call_ids:
        await uow.enqueue(
            ERASE_RECORDINGS_JOB,
            {"request_id": str(request.id), "provider_call_ids": erasure.provider_call_ids},
            run_at=now, dedupe_key=f"{ERASE_RECORDINGS_JOB}:{request.id}", max_attempts=10,
        )
    else:
        await privacy.set_status(
            uow, request, RequestStatus.COMPLETED, now=now, action="request.completed",
            emit=False,
        )


async def erase_recordings(
    *, effects: Effects, eraser: RecordingEraser, request_id: UUID, provider_call_ids: list[str],
    now: datetime,
) -> None:
    """Delete every call of the closed account at VAPI, then complete the request (idempotent)."""
    deleted = 0
    for provider_call_id in provider_call_ids:
        if await eraser.delete_call(provider_call_id):
            deleted += 1
    async with UnitOfWork(effects) as uow:
        erasure = Erasure()
        # A webhook may have arrived between closure and deletion at VAPI.
        await scrub_webhook_bodies(uow, set(provider_call_ids), erasure)
        request = await PrivacyRequest.select_for_update().using_db(uow.conn).get_or_none(
            id=request_id
        )
        if request is None or request.status == RequestStatus.COMPLETED.value:
            return
        await privacy.set_status(
            uow, request, RequestStatus.COMPLETED, now=now, action="recordings.deleted",
            details={"providerCalls": len(provider_call_ids), "deletedNow": deleted,
                     "lateWebhookBodies": erasure.counts.get("webhook_bodies", 0)},
            emit=False,
        )


def erase_recordings_handler(*, effects: Effects, eraser: RecordingEraser) -> JobHandler:
    async def handle(payload: dict[str, Any], run: JobRun) -> None:
        try:
            await erase_recordings(
                effects=effects, eraser=eraser, request_id=UUID(payload["request_id"]),
                provider_call_ids=list(payload["provider_call_ids"]), now=run.now,
            )
        except RetryLater:
            raise
        except Exception as exc:
            logger.warning("recording deletion at provider failed",
                           extra={"request_id": payload["request_id"],
                                  "error": type(exc).__name__, "attempt": run.attempt})
            raise RetryLater(f"provider deletion failed: {type(exc).__name__}") from exc

    return handle
