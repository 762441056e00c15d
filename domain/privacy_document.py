"""The personal-data export document (access and portability): everything we hold about one
learner, as versioned, documented JSON (format ``callfluently.personal-data-export``, see
docs/privacy.md). Bump ``FORMAT_VERSION`` on any change that is not a pure addition.

Every query here is filtered by the learner's id (or their calls' ids), so nothing of another
learner can enter the document.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from db.models.accounts import Session, User
from db.models.analysis import Analysis, Correction, LevelHistory
from db.models.billing import Balance, LedgerEntry, TopUp
from db.models.calls import Call, TranscriptTurn
from db.models.plans import CallPlan, Preferences
from db.models.privacy import AuditLog, Consent, Notification, PrivacyRequest
from db.models.topics import Topic, UserTopic
from domain.privacy_inventory import Owner, plain, plain_row, unnamed_links

FORMAT = "callfluently.personal-data-export"
FORMAT_VERSION = 1


def _pick(row: Any, *names: str) -> dict[str, Any]:
    """``{camelCase(name): value}`` for the given attribute names of an ORM row."""
    out: dict[str, Any] = {}
    for name in names:
        head, *rest = name.split("_")
        out[head + "".join(p.title() for p in rest)] = plain(getattr(row, name))
    return out


def _account(user: User) -> dict[str, Any]:
    return {
        **_pick(user, "id", "account_ref", "full_name", "email", "phone", "timezone",
                "cefr_level", "level_under_review", "status", "closed_at", "role",
                "jurisdiction", "policy_version", "created_at", "last_sign_in_at"),
        "hasPassword": user.password_hash is not None,
        "googleLinked": user.google_sub is not None,
        "objections": {
            "analysis": user.objects_to_analysis,
            "serviceImprovement": user.objects_to_service_improvement,
        },
        "processingRestricted": user.processing_restricted,
    }


async def _calls(user_id: UUID) -> list[dict[str, Any]]:
    calls = await Call.filter(user_id=user_id).order_by("requested_at", "id")
    call_ids = [c.id for c in calls]
    topics = {t.id: t.slug for t in await Topic.filter(id__in={c.topic_id for c in calls})}
    turns: dict[UUID, list[dict[str, Any]]] = {i: [] for i in call_ids}
    for turn in await TranscriptTurn.filter(call_id__in=call_ids).order_by("call_id", "seq"):
        turns[turn.call_id].append(
            _pick(turn, "seq", "role", "text", "start_s", "end_s", "confidence")
        )
    corrections: dict[UUID, list[dict[str, Any]]] = {}
    for c in await Correction.filter(user_id=user_id).order_by("id"):
        corrections.setdefault(c.analysis_id, []).append(
            _pick(c, "original", "corrected", "explanation", "category", "created_at")
        )
    analyses = {a.call_id: a for a in await Analysis.filter(user_id=user_id)}
    out = []
    for call in calls:
        analysis = analyses.get(call.id)
        out.append({
            **_pick(call, "id", "status", "ended_reason", "failure_reason", "plan_slot",
                    "requested_at", "started_at", "ended_at", "duration_s", "billable_s",
                    "charge_minor", "recording_url", "recording_expires_at"),
            "topic": topics.get(call.topic_id) if call.topic_id else None,
            "transcript": turns[call.id],
            "analysis": None if analysis is None else {
                **_pick(analysis, "id", "status", "grammar", "vocabulary", "fluency",
                        "pronunciation", "pronunciation_basis", "pronunciation_confidence",
                        "cefr_level", "summary", "strengths", "vocabulary_suggestions",
                        "next_focus", "model", "created_at", "completed_at"),
                "corrections": corrections.get(analysis.id, []),
            },
        })
    return out


async def _payments(user: User) -> dict[str, Any]:
    balances = await Balance.filter(account_ref=user.account_ref)
    return {
        "balances": [_pick(b, "amount_minor", "currency") for b in balances],
        "topUps": [
            _pick(t, "id", "amount_minor", "currency", "status", "created_at", "updated_at")
            for t in await TopUp.filter(user_id=user.id).order_by("created_at", "id")
        ],
        "ledger": [
            _pick(e, "id", "kind", "amount_minor", "currency", "balance_after_minor",
                  "business_key", "created_at")
            for e in await LedgerEntry.filter(user_id=user.id).order_by("id")
        ],
    }


async def _privacy_requests(user_id: UUID) -> list[dict[str, Any]]:
    requests = await PrivacyRequest.filter(user_id=user_id).order_by("received_at", "id")
    trail: dict[UUID, list[dict[str, Any]]] = {r.id: [] for r in requests}
    for entry in await AuditLog.filter(request_id__in=list(trail)).order_by("created_at", "id"):
        assert entry.request_id is not None
        trail[entry.request_id].append(
            _pick(entry, "created_at", "action", "actor_role", "details")
        )
    return [
        {**_pick(r, "id", "kind", "jurisdiction", "status", "received_at", "due_at",
                 "completed_at", "details"), "auditTrail": trail[r.id]}
        for r in requests
    ]


async def _additional(user_id: UUID, call_ids: list[UUID]) -> dict[str, list[dict[str, Any]]]:
    """Rows of linked tables without a named section (added by other domains), as stored."""
    out: dict[str, list[dict[str, Any]]] = {}
    for link in unnamed_links():
        if link.owner is Owner.USER:
            rows = await link.model.filter(**{link.column: user_id}).values()
        elif call_ids:
            rows = await link.model.filter(**{f"{link.column}__in": call_ids}).values()
        else:
            rows = []
        if rows:
            out.setdefault(link.table, []).extend(plain_row(r) for r in rows)
    return out


async def build_document(*, user: User, request_id: UUID, now: datetime) -> dict[str, Any]:
    """The whole export for ``user``, as a JSON-ready dict."""
    uid = user.id
    calls = await _calls(uid)
    plan = await CallPlan.get_or_none(user_id=uid)
    prefs = await Preferences.get_or_none(user_id=uid)
    chosen = await UserTopic.filter(user_id=uid).prefetch_related("topic").order_by("id")
    return {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "generatedAt": plain(now),
        "requestId": str(request_id),
        "account": _account(user),
        "sessions": [
            _pick(s, "id", "ip", "user_agent", "device", "method", "created_at",
                  "last_used_at", "expires_at", "revoked_at", "revoked_reason")
            for s in await Session.filter(user_id=uid).order_by("created_at", "id")
        ],
        "topics": [
            {"slug": t.topic.slug, "title": t.topic.title, "chosenAt": plain(t.created_at)}
            for t in chosen
        ],
        "plan": None if plan is None else _pick(
            plan, "days_of_week", "local_time", "timezone", "minutes_per_call", "active",
            "updated_at"),
        "preferences": None if prefs is None else _pick(
            prefs, "coach_voice", "correction_style", "target_level", "explanation_language",
            "updated_at"),
        "calls": calls,
        "levelHistory": [
            _pick(h, "at", "cefr_level", "previous_level", "analysis_id", "reason")
            for h in await LevelHistory.filter(user_id=uid).order_by("at", "id")
        ],
        "payments": await _payments(user),
        "privacyRequests": await _privacy_requests(uid),
        "consents": [
            _pick(c, "policy_version", "accepted_at")
            for c in await Consent.filter(user_id=uid).order_by("accepted_at", "id")
        ],
        "notifications": [
            _pick(n, "subject", "status", "created_at", "sent_at")
            for n in await Notification.filter(user_id=uid).order_by("id")
        ],
        "accessLog": [
            _pick(a, "created_at", "actor_role", "action", "reason")
            for a in await AuditLog.filter(subject_id=uid, actor_role__in=("support", "admin"))
            .order_by("created_at", "id")
        ],
        "additional": await _additional(uid, [UUID(c["id"]) for c in calls]),
    }
