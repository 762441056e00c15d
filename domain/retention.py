"""The daily retention job: enforces the policy's retention table and logs what it destroyed.

A ``Periodic(kind="retention", every=1 day)`` job, enqueued once per day across all processes
(dedupe key per slot), runs ``run_retention`` in one transaction and writes a
``retention_runs`` row with the counts: the destruction log KVKK asks for. Every rule is a pure
function of the clock, so a rerun finds nothing more to do. The table (docs/privacy.md):

==========================  =============================  =========================================
data                        kept                           then
==========================  =============================  =========================================
recording link              30 days after the call         link and expiry cleared (VAPI deletes
                                                           the audio itself after 30 days)
closed account skeleton     2 years after closure          users row, sessions, consents, audit
                                                           entries deleted, requests detached
payment records             10 years after the entry       ledger entries and top-ups deleted
data export (document)      until downloaded or 7 days     document dropped (the row, with no
                                                           content, stays with its request)
webhook body                30 days after receipt          body and user link cleared
webhook dedupe record       90 days after receipt          row deleted
event log                   30 days                        row deleted
finished job                30 days after it finished      row deleted
sent notification           90 days after it was queued    row deleted
sign-in failure counter     1 day after the last failure   row deleted (it may hold an email)
detached privacy request    10 years after receipt         request and its audit trail deleted
==========================  =============================  =========================================
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from db.models.accounts import LoginThrottle, RefreshToken, Session, User
from db.models.billing import LedgerEntry, TopUp
from db.models.calls import Call
from db.models.live import Event
from db.models.ops import Job, WebhookDelivery
from db.models.privacy import (
    AuditLog,
    Consent,
    DataExport,
    Notification,
    PrivacyRequest,
    RetentionRun,
)
from domain.jobs import JobHandler, JobRun
from domain.privacy_inventory import Owner, unnamed_links
from domain.retention_payments import expire_payment_records
from domain.uow import Effects, UnitOfWork

logger = logging.getLogger("callfluently.retention")

RETENTION_JOB = "retention"
RUN_EVERY = timedelta(days=1)
RECORDING_LINK = timedelta(days=30)
CLOSED_ACCOUNT_YEARS = 2
PAYMENT_RECORD_YEARS = 10
WEBHOOK_BODY = timedelta(days=30)
WEBHOOK_RECORD = timedelta(days=90)
EVENT_LOG = timedelta(days=30)
FINISHED_JOB = timedelta(days=30)
NOTIFICATION = timedelta(days=90)
LOGIN_THROTTLE = timedelta(days=1)
FINISHED_JOB_STATUSES = ("done", "dead", "cancelled")


def years_before(moment: datetime, years: int) -> datetime:
    """The same calendar instant ``years`` earlier (29 February becomes 28 February)."""
    try:
        return moment.replace(year=moment.year - years)
    except ValueError:
        return moment.replace(year=moment.year - years, day=28)


async def purge_closed_account(conn: BaseDBAsyncClient | None, user: User) -> None:
    """Remove what remained of a closed account; its privacy requests stay, pseudonymous."""
    uid = user.id
    sessions = await Session.filter(user_id=uid).using_db(conn).values_list("id", flat=True)
    await RefreshToken.filter(session_id__in=list(sessions)).using_db(conn).delete()
    await Session.filter(user_id=uid).using_db(conn).delete()
    await Consent.filter(user_id=uid).using_db(conn).delete()
    await AuditLog.filter(subject_id=uid, request_id__isnull=True).using_db(conn).delete()
    await AuditLog.filter(subject_id=uid).using_db(conn).update(subject_id=None)
    await AuditLog.filter(actor_id=uid).using_db(conn).update(actor_id=None)
    await PrivacyRequest.filter(user_id=uid).using_db(conn).update(user_id=None)
    await LedgerEntry.filter(user_id=uid).using_db(conn).update(user_id=None)
    await TopUp.filter(user_id=uid).using_db(conn).update(user_id=None)
    await Notification.filter(user_id=uid).using_db(conn).delete()
    await DataExport.filter(user_id=uid).using_db(conn).delete()
    for link in unnamed_links():
        if link.owner is Owner.USER:
            await link.model.filter(**{link.column: uid}).using_db(conn).delete()
    await User.filter(id=uid).using_db(conn).delete()


async def _purge_closed_accounts(conn: BaseDBAsyncClient | None, now: datetime) -> int:
    cutoff = years_before(now, CLOSED_ACCOUNT_YEARS)
    users = await User.filter(status="closed", closed_at__lte=cutoff).using_db(conn)
    for user in users:
        await purge_closed_account(conn, user)
    return len(users)


async def _expire_privacy_requests(conn: BaseDBAsyncClient | None, now: datetime) -> int:
    cutoff = years_before(now, PAYMENT_RECORD_YEARS)
    ids = await PrivacyRequest.filter(user_id=None, received_at__lte=cutoff).using_db(
        conn
    ).values_list("id", flat=True)
    await AuditLog.filter(request_id__in=list(ids)).using_db(conn).delete()
    return await PrivacyRequest.filter(id__in=list(ids)).using_db(conn).delete()


async def run_retention(*, effects: Effects, now: datetime) -> RetentionRun:
    """Apply every retention rule as of ``now`` and log the counts (one transaction)."""
    counts: dict[str, Any] = {}
    async with UnitOfWork(effects) as uow:
        conn = uow.conn
        counts["recording_links_dropped"] = await Call.filter(
            recording_url__isnull=False, recording_expires_at__lte=now
        ).using_db(conn).update(recording_url=None, recording_expires_at=None)
        counts["recording_links_dropped"] += await Call.filter(
            recording_url__isnull=False, recording_expires_at__isnull=True,
            ended_at__lte=now - RECORDING_LINK,
        ).using_db(conn).update(recording_url=None)
        counts["exports_removed"] = await DataExport.filter(
            expires_at__lte=now, document__isnull=False
        ).using_db(conn).update(document=None)
        counts["webhook_bodies_removed"] = await WebhookDelivery.filter(
            received_at__lte=now - WEBHOOK_BODY, body__isnull=False
        ).using_db(conn).update(body=None, user_id=None)
        counts["webhook_records_deleted"] = await WebhookDelivery.filter(
            received_at__lte=now - WEBHOOK_RECORD
        ).using_db(conn).delete()
        counts["events_deleted"] = await Event.filter(
            created_at__lte=now - EVENT_LOG
        ).using_db(conn).delete()
        counts["jobs_deleted"] = await Job.filter(
            status__in=FINISHED_JOB_STATUSES, finished_at__lte=now - FINISHED_JOB
        ).using_db(conn).delete()
        counts["notifications_deleted"] = await Notification.filter(
            status__in=("sent", "failed"), created_at__lte=now - NOTIFICATION
        ).using_db(conn).delete()
        counts["login_throttles_deleted"] = await LoginThrottle.filter(
            updated_at__lte=now - LOGIN_THROTTLE
        ).using_db(conn).delete()
        counts["closed_accounts_purged"] = await _purge_closed_accounts(conn, now)
        await expire_payment_records(
            conn, cutoff=years_before(now, PAYMENT_RECORD_YEARS), counts=counts
        )
        counts["privacy_requests_deleted"] = await _expire_privacy_requests(conn, now)
        run = await RetentionRun.create(ran_at=now, counts=counts, using_db=conn)
    logger.info("retention run", extra={"retention_run_id": run.id, **counts})
    return run


def retention_handler(*, effects: Effects) -> JobHandler:
    """The daily job. A day's job that only runs after the next day began is skipped: the rules
    are cumulative, so that next day's job covers it, and the log keeps one run per day."""

    async def handle(payload: dict[str, Any], run: JobRun) -> None:
        slot = payload.get("slot")
        if slot and datetime.fromisoformat(slot) + RUN_EVERY <= run.now:
            logger.info("stale retention slot skipped", extra={"slot": slot})
            return
        await run_retention(effects=effects, now=run.now)

    return handle


async def recent_runs(*, limit: int) -> list[RetentionRun]:
    """The destruction log, newest first."""
    return await RetentionRun.all().order_by("-ran_at", "-id").limit(limit)
