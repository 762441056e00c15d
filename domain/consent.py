"""Privacy-policy versions and each learner's acceptance of them.

The version a learner accepted is recorded at registration (a ``consents`` row plus
``users.policy_version``). Publishing a new version (admin) notifies every active learner by
email through the outbox, in the same transaction, as the policy promises for material changes;
a learner's acceptance is recorded when they next accept.
"""

from __future__ import annotations

import contextlib
import re
from datetime import UTC, datetime
from enum import Enum
from uuid import UUID

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError

from db.models.accounts import User
from db.models.privacy import Consent, Notification, PolicyVersion
from domain import privacy
from domain.errors import DomainError
from domain.notifications import wake_sender
from domain.uow import Effects, UnitOfWork

#: The policy in force when the service launched (privacy-policy.txt, "Version: 1.0").
INITIAL_VERSION = "1.0"
INITIAL_PUBLISHED_AT = datetime(2025, 4, 1, tzinfo=UTC)
INITIAL_SUMMARY = "Initial privacy policy (April 2025)."
VERSION_RE = re.compile(r"^[0-9]+(\.[0-9]+){0,2}$")
NOTIFY_BATCH = 500


class AcceptPolicyErrorCode(Enum):
    NOT_CURRENT_VERSION = "NOT_CURRENT_VERSION"


class AcceptPolicyRefused(DomainError):
    pass


class PublishPolicyVersionErrorCode(Enum):
    INVALID_VERSION = "INVALID_VERSION"
    VERSION_EXISTS = "VERSION_EXISTS"
    INVALID_SUMMARY = "INVALID_SUMMARY"


class PublishPolicyVersionRefused(DomainError):
    pass


async def current_policy(conn: BaseDBAsyncClient | None = None) -> PolicyVersion:
    """The latest published version (the launch version until an admin publishes another)."""
    latest = await PolicyVersion.all().using_db(conn).order_by("-published_at").first()
    if latest is not None:
        return latest
    with contextlib.suppress(IntegrityError):  # seeded concurrently
        await PolicyVersion.create(
            version=INITIAL_VERSION, published_at=INITIAL_PUBLISHED_AT, summary=INITIAL_SUMMARY,
            using_db=conn,
        )
    return await PolicyVersion.filter(version=INITIAL_VERSION).using_db(conn).get()


async def record_acceptance(
    *, user_id: UUID, version: str, now: datetime, conn: BaseDBAsyncClient | None = None
) -> None:
    """Record that the learner accepted ``version`` (idempotent)."""
    await Consent.bulk_create(
        [Consent(user_id=user_id, policy_version=version, accepted_at=now)],
        ignore_conflicts=True,
        using_db=conn,
    )
    await User.filter(id=user_id).using_db(conn).update(policy_version=version)


async def has_accepted(*, user_id: UUID, version: str) -> bool:
    return await Consent.filter(user_id=user_id, policy_version=version).exists()


async def accept_policy(
    *, effects: Effects, user_id: UUID, version: str, now: datetime
) -> PolicyVersion:
    """The learner accepts the current version; an outdated or unknown version is refused."""
    async with UnitOfWork(effects) as uow:
        current = await current_policy(uow.conn)
        if version != current.version:
            raise AcceptPolicyRefused(
                AcceptPolicyErrorCode.NOT_CURRENT_VERSION,
                f"Version {current.version} is the current policy; accept that one.",
                "version",
            )
        already = await Consent.filter(user_id=user_id, policy_version=version).using_db(
            uow.conn
        ).exists()
        if not already:
            await record_acceptance(user_id=user_id, version=version, now=now, conn=uow.conn)
            await privacy.audit(
                uow, subject_id=user_id, actor=privacy.Actor.learner(user_id),
                action="policy.accepted", now=now, details={"version": version},
            )
        return current


def _notice(version: str, summary: str) -> tuple[str, str]:
    subject = f"Our privacy policy has changed (version {version})"
    body = (
        "Hello,\n\nWe have published version "
        f"{version} of the CallFluently privacy policy.\n\nWhat changed: {summary}\n\n"
        "Sign in to CallFluently to read the new policy and accept it. If you have questions, "
        "write to privacy@callfluently.com.\n\nCallFluently (GENEZ LLC)\n"
    )
    return subject, body


async def publish_policy_version(
    *, effects: Effects, actor: privacy.Actor, version: str, summary: str, now: datetime
) -> PolicyVersion:
    """Publish a new version and queue the email notice to every active learner, atomically."""
    version = version.strip()
    summary = summary.strip()
    if not VERSION_RE.match(version):
        raise PublishPolicyVersionRefused(
            PublishPolicyVersionErrorCode.INVALID_VERSION,
            "Use a version number such as 1.1 or 2.0.",
            "version",
        )
    if not 1 <= len(summary) <= 2000:
        raise PublishPolicyVersionRefused(
            PublishPolicyVersionErrorCode.INVALID_SUMMARY,
            "Describe the change in 1 to 2000 characters.",
            "summary",
        )
    async with UnitOfWork(effects) as uow:
        await current_policy(uow.conn)  # the launch version exists before any later one
        if await PolicyVersion.filter(version=version).using_db(uow.conn).exists():
            raise PublishPolicyVersionRefused(
                PublishPolicyVersionErrorCode.VERSION_EXISTS,
                f"Version {version} was already published.",
                "version",
            )
        published = await PolicyVersion.create(
            version=version, published_at=now, summary=summary, using_db=uow.conn
        )
        subject, body = _notice(version, summary)
        recipients = await User.filter(status="active", email__isnull=False).using_db(
            uow.conn
        ).values_list("id", "email")
        for start in range(0, len(recipients), NOTIFY_BATCH):
            await Notification.bulk_create(
                [
                    Notification(user_id=uid, to_email=email, subject=subject, body=body,
                                 status="pending", created_at=now)
                    for uid, email in recipients[start : start + NOTIFY_BATCH]
                ],
                using_db=uow.conn,
            )
        if recipients:
            await wake_sender(uow, now=now)
        await privacy.audit(
            uow, subject_id=None, actor=actor, action="policy.published", now=now,
            details={"version": version, "notified": len(recipients)},
        )
        return published
