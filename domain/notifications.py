"""The email outbox: notifications are rows first, written with the change that causes them, and
sent afterwards by the ``send_notifications`` job through the ``EmailSender`` port.

The policy promises that material changes are notified by email; writing the row in the same
transaction as the change means no notice is lost if the mail server is down. Sending is at
most once per row: a row is claimed (``pending`` → ``sending``) before the port is called.
Logs carry notification ids, never addresses or bodies.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol
from uuid import UUID

from db.models.privacy import Notification
from domain.jobs import JobHandler, JobRun, RetryLater
from domain.uow import UnitOfWork

logger = logging.getLogger("callfluently.notifications")

SEND_JOB = "send_notifications"
BATCH = 100


@dataclass(frozen=True, slots=True)
class Email:
    to: str
    subject: str
    body: str


class EmailUndeliverable(Exception):
    """The message can never be delivered (bad address): retrying will not help."""


class EmailSender(Protocol):
    """Sends one plain-text email; raises ``EmailUndeliverable`` or any error to retry."""

    async def send(self, email: Email) -> None: ...


async def queue_email(
    uow: UnitOfWork,
    *,
    user_id: UUID | None,
    to_email: str,
    subject: str,
    body: str,
    now: datetime,
) -> Notification:
    """Write one outbox row and wake the sender, inside ``uow``."""
    row = await Notification.create(
        user_id=user_id, to_email=to_email, subject=subject, body=body, status="pending",
        created_at=now, using_db=uow.conn,
    )
    await wake_sender(uow, now=now)
    return row


async def wake_sender(uow: UnitOfWork, *, now: datetime) -> None:
    """Queue one sender run (a run already waiting picks up every pending row)."""
    await uow.enqueue(SEND_JOB, {}, run_at=now)


async def _claim(row_id: int) -> bool:
    return await Notification.filter(id=row_id, status="pending").update(status="sending") == 1


async def send_pending(
    *, sender: EmailSender, now: datetime, batch: int = BATCH
) -> tuple[int, int]:
    """Send up to ``batch`` pending notifications; returns (sent, still failing)."""
    sent = failing = 0
    rows = await Notification.filter(status="pending").order_by("id").limit(batch)
    for row in rows:
        if not await _claim(row.id):
            continue  # another worker took it
        if not row.to_email:
            await Notification.filter(id=row.id).update(status="failed")
            continue
        try:
            await sender.send(Email(to=row.to_email, subject=row.subject, body=row.body))
        except EmailUndeliverable:
            logger.warning("notification undeliverable", extra={"notification_id": row.id})
            await Notification.filter(id=row.id).update(status="failed")
            continue
        except Exception as exc:
            logger.warning(
                "notification send failed",
                extra={"notification_id": row.id, "error": type(exc).__name__},
            )
            await Notification.filter(id=row.id).update(status="pending")
            failing += 1
            continue
        await Notification.filter(id=row.id).update(status="sent", sent_at=now)
        sent += 1
    return sent, failing


def send_handler(*, sender: EmailSender) -> JobHandler:
    """The ``send_notifications`` job: drain the outbox, retry later while a send fails."""

    async def handle(payload: dict[str, Any], run: JobRun) -> None:
        while True:
            sent, failing = await send_pending(sender=sender, now=run.now)
            if failing:
                raise RetryLater(f"{failing} notification(s) could not be sent")
            if sent < BATCH:
                return

    return handle
