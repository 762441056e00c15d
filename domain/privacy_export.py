"""Access and portability: a learner asks for their data, a job builds the export, and the
learner downloads it once through an authenticated, expiring, single-use link.

The link's token is derived from the export id with a server key (HMAC), so it can be shown
again in ``privacyRequests`` while only its SHA-256 is stored. A download checks the owner,
marks the export used and drops the document in one statement, so a second download is refused
even when two arrive at once.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from typing import Any
from uuid import UUID

from db.locks import lock_user
from db.models.accounts import User
from db.models.privacy import DataExport, PrivacyRequest
from domain import privacy
from domain.errors import DomainError
from domain.jobs import JobHandler, JobRun
from domain.notifications import queue_email
from domain.privacy import RequestKind, RequestStatus
from domain.privacy_document import build_document
from domain.uow import Effects, UnitOfWork

EXPORT_JOB = "data_export"
#: At most one export per learner per 24 hours (issue 7).
EXPORT_COOLDOWN = timedelta(hours=24)
#: How long a ready export can be downloaded.
EXPORT_TTL = timedelta(days=7)
EXPORT_KINDS = (RequestKind.ACCESS.value, RequestKind.PORTABILITY.value)


class ExportKind(Enum):
    """Access and portability are answered with the same machine-readable document."""

    ACCESS = "access"
    PORTABILITY = "portability"


class RequestDataExportErrorCode(Enum):
    RATE_LIMITED = "RATE_LIMITED"
    ACCOUNT_CLOSED = "ACCOUNT_CLOSED"


class RequestDataExportRefused(DomainError):
    pass


class ExportUnavailable(Exception):
    """No export behind this token for this learner (unknown, or someone else's)."""


class ExportGone(Exception):
    """The export existed but was already downloaded or has expired."""


@dataclass(frozen=True, slots=True)
class ExportLinks:
    """Makes and recognises download links; ``key`` is a server secret."""

    key: bytes
    base_url: str

    @classmethod
    def from_secret(cls, secret: str, *, base_url: str) -> ExportLinks:
        """Links keyed by a purpose-specific key derived from a server secret."""
        return cls(key=hashlib.sha256(b"export-links:" + secret.encode()).digest(),
                   base_url=base_url)

    def token(self, export_id: UUID) -> str:
        mac = hmac.new(self.key, b"export:" + export_id.bytes, hashlib.sha256).digest()
        return base64.urlsafe_b64encode(mac).decode().rstrip("=")

    def url(self, export_id: UUID) -> str:
        return f"{self.base_url.rstrip('/')}/privacy/exports/{self.token(export_id)}"


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def request_data_export(
    *, effects: Effects, user_id: UUID, kind: ExportKind, now: datetime
) -> PrivacyRequest:
    """Record an access or portability request and queue the export job (one per 24 hours)."""
    async with UnitOfWork(effects) as uow:
        user = await lock_user(uow.conn, user_id)
        if user is None or user.status != "active":
            raise RequestDataExportRefused(
                RequestDataExportErrorCode.ACCOUNT_CLOSED, "This account is closed."
            )
        recent = await PrivacyRequest.filter(
            user_id=user_id, kind__in=EXPORT_KINDS, received_at__gt=now - EXPORT_COOLDOWN,
        ).using_db(uow.conn).exclude(status=RequestStatus.REJECTED.value).order_by(
            "-received_at").first()
        if recent is not None:
            again = recent.received_at + EXPORT_COOLDOWN
            raise RequestDataExportRefused(
                RequestDataExportErrorCode.RATE_LIMITED,
                "You can request one data export every 24 hours. Try again after "
                f"{again:%Y-%m-%d %H:%M} UTC.",
            )
        request = await privacy.open_request(
            uow, user=user, kind=RequestKind(kind.value), now=now
        )
        await uow.enqueue(
            EXPORT_JOB, {"request_id": str(request.id)}, run_at=now,
            dedupe_key=f"{EXPORT_JOB}:{request.id}",
        )
        return request


async def build_export(
    *, effects: Effects, links: ExportLinks, request_id: UUID, now: datetime
) -> None:
    """Build the export for a received request, store it and tell the learner (idempotent)."""
    async with UnitOfWork(effects) as uow:
        request = await PrivacyRequest.select_for_update().using_db(uow.conn).get_or_none(
            id=request_id
        )
        if request is None or request.status in (
            RequestStatus.COMPLETED.value, RequestStatus.REJECTED.value
        ):
            return
        user = await User.filter(id=request.user_id).using_db(uow.conn).first()
        if user is None or user.status != "active":
            await privacy.set_status(
                uow, request, RequestStatus.REJECTED, now=now, action="export.rejected",
                details={"why": "account closed"}, emit=False,
            )
            return
        document = await build_document(user=user, request_id=request.id, now=now)
        export = DataExport(
            request_id=request.id, user_id=user.id, created_at=now, expires_at=now + EXPORT_TTL,
            document=json.dumps(document, ensure_ascii=False, sort_keys=False),
        )
        export.token_hash = token_digest(links.token(export.id))
        await export.save(using_db=uow.conn)
        await privacy.set_status(
            uow, request, RequestStatus.COMPLETED, now=now, action="export.ready",
            details={"expiresAt": export.expires_at.isoformat(),
                     "formatVersion": document["version"]},
        )
        if user.email:
            await queue_email(
                uow, user_id=user.id, to_email=user.email,
                subject="Your CallFluently data export is ready",
                body=(
                    "Hello,\n\nThe copy of your data you asked for is ready. Sign in to "
                    "CallFluently and open Privacy > Your requests to download it. The link works "
                    f"once and expires on {export.expires_at:%Y-%m-%d %H:%M} UTC.\n\n"
                    "If you did not ask for this, change your password and write to "
                    "privacy@callfluently.com.\n\nCallFluently (GENEZ LLC)\n"
                ),
                now=now,
            )


def export_handler(*, effects: Effects, links: ExportLinks) -> JobHandler:
    async def handle(payload: dict[str, Any], run: JobRun) -> None:
        await build_export(
            effects=effects, links=links, request_id=UUID(payload["request_id"]), now=run.now
        )

    return handle


async def download_links(
    *, links: ExportLinks, request_ids: list[UUID], now: datetime
) -> list[tuple[str, datetime] | None]:
    """For each request: (download URL, expiry) while its export is ready and unused, else None."""
    exports = await DataExport.filter(
        request_id__in=request_ids, used_at=None, expires_at__gt=now, document__isnull=False
    )
    ready = {e.request_id: e for e in exports}
    out: list[tuple[str, datetime] | None] = []
    for rid in request_ids:
        export = ready.get(rid)
        out.append(None if export is None else (links.url(export.id), export.expires_at))
    return out


async def consume_export(*, effects: Effects, user_id: UUID, token: str, now: datetime) -> str:
    """The export document behind ``token`` for its owner, exactly once, before it expires."""
    digest = token_digest(token)
    async with UnitOfWork(effects) as uow:
        export = await DataExport.filter(token_hash=digest, user_id=user_id).using_db(
            uow.conn
        ).select_for_update().first()
        if export is None:
            raise ExportUnavailable("no such export")
        if export.used_at is not None or export.document is None or export.expires_at <= now:
            raise ExportGone("already downloaded or expired")
        taken = await DataExport.filter(id=export.id, used_at=None).using_db(uow.conn).update(
            used_at=now, document=None
        )
        if taken != 1:
            raise ExportGone("already downloaded")
        await privacy.audit(
            uow, subject_id=user_id, actor=privacy.Actor.learner(user_id),
            action="export.downloaded", now=now, request_id=export.request_id,
        )
        return export.document
