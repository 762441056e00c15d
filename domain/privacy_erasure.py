"""Erasing a learner's data at account closure, table by table, inside the closing transaction.

What goes (policy §5, design §6): transcripts, analyses, corrections, level history, topics,
plan, preferences, calls, exports, notifications, the event log, job payloads and webhook bodies
that mention the learner, API keys and any other table linked to the learner. What stays:
payment records (ledger entries, top-ups, balance), detached from the person and keyed only by
the pseudonymous ``account_ref``, for 10 years; and the account skeleton (the users row without
name, email, phone or credentials, revoked sessions, consents, privacy requests and their audit
trail) until the purge two years after closure.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from uuid import UUID

from db.mentions import ids_mentioning
from db.models.accounts import LoginThrottle, RefreshToken, Session, User
from db.models.analysis import Analysis, Correction, LevelHistory
from db.models.billing import LedgerEntry, TopUp
from db.models.calls import Call, TranscriptTurn
from db.models.live import Event
from db.models.ops import Job, WebhookDelivery
from db.models.plans import CallPlan, Preferences
from db.models.privacy import AuditLog, DataExport, Notification, PrivacyRequest
from db.models.topics import UserTopic
from domain import throttle
from domain.privacy_inventory import Owner, unnamed_links
from domain.uow import UnitOfWork

REDACTED = "[redacted at account closure]"


@dataclass(slots=True)
class Erasure:
    """What an erasure removed, by table, and the provider calls left to delete at VAPI."""

    counts: dict[str, int] = field(default_factory=dict)
    provider_call_ids: list[str] = field(default_factory=list)

    def add(self, name: str, count: int) -> None:
        if count:
            self.counts[name] = self.counts.get(name, 0) + count


def needles_for(user: User, call_ids: list[UUID], extra: list[str]) -> set[str]:
    """The values that identify the learner inside free-form text and JSON."""
    values = {str(user.id), user.email or "", user.phone or "", *map(str, call_ids), *extra}
    return {v for v in values if v}


async def scrub_free_text(uow: UnitOfWork, needles: set[str], erasure: Erasure) -> None:
    """Delete jobs whose payload mentions the learner and empty the webhook bodies that do."""
    jobs = await ids_mentioning(Job, "payload", needles, conn=uow.conn)
    erasure.add("jobs", await Job.filter(id__in=jobs).using_db(uow.conn).delete())
    await scrub_webhook_bodies(uow, needles, erasure)


async def scrub_webhook_bodies(uow: UnitOfWork, needles: set[str], erasure: Erasure) -> None:
    """Empty the webhook bodies that mention the learner.

    Webhook rows stay (body-less) because their dedupe keys stop a provider's retry from being
    applied twice; the body is what carries transcripts and phone numbers.
    """
    bodies = await ids_mentioning(WebhookDelivery, "body", needles, conn=uow.conn)
    erasure.add(
        "webhook_bodies",
        await WebhookDelivery.filter(id__in=bodies).using_db(uow.conn).update(
            body=None, user_id=None
        ),
    )


async def erase_learner(uow: UnitOfWork, *, user: User) -> Erasure:
    """Remove everything the closure removes; ``user`` is still intact when this runs."""
    conn = uow.conn
    uid = user.id
    erasure = Erasure()
    calls = await Call.filter(user_id=uid).using_db(conn).values_list("id", "provider_call_id")
    call_ids = [c[0] for c in calls]
    erasure.provider_call_ids = sorted(str(p) for _, p in calls if p)
    analysis_ids = await Analysis.filter(user_id=uid).using_db(conn).values_list("id", flat=True)
    needles = needles_for(
        user, call_ids, [*erasure.provider_call_ids, *map(str, analysis_ids)]
    )
    await scrub_free_text(uow, needles, erasure)
    erasure.add("webhook_bodies", await WebhookDelivery.filter(user_id=uid).using_db(conn).update(
        body=None, user_id=None))
    erasure.add("events", await Event.filter(user_id=uid).using_db(conn).delete())
    if call_ids:
        erasure.add("events", await Event.filter(call_id__in=call_ids).using_db(conn).delete())

    # Tables other domains link to a learner or a call, children before their parents.
    for link in sorted(unnamed_links(), key=lambda lk: lk.owner is Owner.USER):
        if link.owner is Owner.CALL:
            if call_ids:
                erasure.add(link.table, await link.model.filter(
                    **{f"{link.column}__in": call_ids}).using_db(conn).delete())
        else:
            erasure.add(link.table, await link.model.filter(
                **{link.column: uid}).using_db(conn).delete())

    erasure.add("corrections", await Correction.filter(user_id=uid).using_db(conn).delete())
    erasure.add("level_history", await LevelHistory.filter(user_id=uid).using_db(conn).delete())
    erasure.add("analyses", await Analysis.filter(user_id=uid).using_db(conn).delete())
    if call_ids:
        erasure.add("transcript_turns", await TranscriptTurn.filter(
            call_id__in=call_ids).using_db(conn).delete())
    erasure.add("calls", await Call.filter(user_id=uid).using_db(conn).delete())
    erasure.add("user_topics", await UserTopic.filter(user_id=uid).using_db(conn).delete())
    erasure.add("call_plans", await CallPlan.filter(user_id=uid).using_db(conn).delete())
    erasure.add("preferences", await Preferences.filter(user_id=uid).using_db(conn).delete())
    erasure.add("data_exports", await DataExport.filter(user_id=uid).using_db(conn).delete())
    erasure.add("notifications", await Notification.filter(user_id=uid).using_db(conn).delete())
    sessions = await Session.filter(user_id=uid).using_db(conn).values_list("id", flat=True)
    erasure.add("refresh_tokens", await RefreshToken.filter(
        session_id__in=list(sessions)).using_db(conn).delete())
    if user.email:
        erasure.add("login_throttles", await LoginThrottle.filter(
            key=throttle.account_key(user.email)).using_db(conn).delete())
    erasure.add("audit_reasons_redacted", await AuditLog.filter(
        subject_id=uid, reason__isnull=False).using_db(conn).update(reason=REDACTED))
    # Earlier requests keep kind, dates and status; their details may quote the learner
    # (e.g. why they contested a level).
    erasure.add("request_details_cleared", await PrivacyRequest.filter(user_id=uid).exclude(
        kind="deletion").using_db(conn).update(details={}))

    # Payment records stay for 10 years, detached from the person.
    erasure.add("ledger_entries_detached", await LedgerEntry.filter(
        user_id=uid).using_db(conn).update(user_id=None))
    erasure.add("top_ups_detached", await TopUp.filter(user_id=uid).using_db(conn).update(
        user_id=None))
    return erasure
