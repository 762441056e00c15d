"""Claude's analysis of a call, the corrections it found, the level history, and the small
pre-aggregated progress tables the dashboard reads (so its cost follows days, not calls)."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any
from uuid import UUID

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from db.models.accounts import User
    from db.models.calls import Call


class Analysis(Model):
    id = fields.UUIDField(primary_key=True, default=uuid.uuid4)
    call: fields.OneToOneRelation[Call] = fields.OneToOneField(
        "calls.Call", related_name="analysis", on_delete=fields.CASCADE
    )
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "accounts.User", related_name="analyses", on_delete=fields.CASCADE
    )
    call_id: UUID
    user_id: UUID
    status = fields.CharField(max_length=16, default="pending")
    grammar = fields.IntField(null=True)
    vocabulary = fields.IntField(null=True)
    fluency = fields.IntField(null=True)
    pronunciation = fields.IntField(null=True)
    pronunciation_basis = fields.CharField(max_length=32, null=True)
    pronunciation_confidence = fields.FloatField(null=True)
    cefr_level = fields.CharField(max_length=2, null=True)
    summary = fields.TextField(null=True)
    strengths: list[str] = fields.JSONField(default=list)
    vocabulary_suggestions: list[dict[str, Any]] = fields.JSONField(default=list)
    next_focus = fields.TextField(null=True)
    fluency_evidence: dict[str, Any] = fields.JSONField(default=dict)
    pronunciation_evidence: dict[str, Any] = fields.JSONField(default=dict)
    #: When the call took place: the recent analyses behind the level are ordered by it.
    call_at = fields.DatetimeField(null=True)
    model = fields.CharField(max_length=100, null=True)
    prompt_version = fields.CharField(max_length=32, null=True)
    attempts = fields.IntField(default=0)
    error = fields.TextField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    completed_at = fields.DatetimeField(null=True)

    class Meta:
        table = "analyses"
        indexes = (("user_id", "status", "call_at"),)


class Correction(Model):
    id = fields.BigIntField(primary_key=True)
    analysis: fields.ForeignKeyRelation[Analysis] = fields.ForeignKeyField(
        "analysis.Analysis", related_name="corrections", on_delete=fields.CASCADE
    )
    analysis_id: UUID
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "accounts.User", related_name="corrections", on_delete=fields.CASCADE
    )
    call_id = fields.UUIDField()
    original = fields.TextField()
    corrected = fields.TextField()
    explanation = fields.TextField()
    category = fields.CharField(max_length=32)
    created_at = fields.DatetimeField()

    class Meta:
        table = "corrections"
        indexes = (("user_id", "created_at"),)


class LevelHistory(Model):
    id = fields.BigIntField(primary_key=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "accounts.User", related_name="level_history", on_delete=fields.CASCADE
    )
    at = fields.DatetimeField()
    cefr_level = fields.CharField(max_length=2)
    previous_level = fields.CharField(max_length=2, null=True)
    analysis: fields.ForeignKeyNullableRelation[Analysis] = fields.ForeignKeyField(
        "analysis.Analysis", related_name="level_changes", null=True, on_delete=fields.SET_NULL
    )
    analysis_id: UUID | None
    reason = fields.TextField()

    class Meta:
        table = "level_history"


class ProgressCall(Model):
    """One answered call as progress counts it, written once: the guard against double counting
    and the source the per-day rows are rebuilt from when the learner changes timezone."""

    call: fields.OneToOneRelation[Call] = fields.OneToOneField(
        "calls.Call", related_name="progress", on_delete=fields.CASCADE, primary_key=True
    )
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "accounts.User", related_name="progress_calls", on_delete=fields.CASCADE
    )
    call_id: UUID
    user_id: UUID
    at = fields.DatetimeField()
    seconds = fields.IntField()
    topic_id = fields.UUIDField(null=True)
    scored = fields.BooleanField(default=False)
    grammar = fields.IntField(null=True)
    vocabulary = fields.IntField(null=True)
    fluency = fields.IntField(null=True)
    pronunciation = fields.IntField(null=True)

    class Meta:
        table = "progress_calls"


class ProgressDay(Model):
    """Per learner, local day and topic: calls, seconds and score sums (averages = sum / scored).

    ``local_day`` counts days since 1970-01-01 in ``timezone``, the learner's timezone when the
    row was written, so date arithmetic is plain integer arithmetic on every database.
    ``topic_key`` is the topic id, or '' for a call without a topic.
    """

    id = fields.BigIntField(primary_key=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "accounts.User", related_name="progress_days", on_delete=fields.CASCADE
    )
    user_id: UUID
    local_day = fields.IntField()
    topic_key = fields.CharField(max_length=36, default="")
    timezone = fields.CharField(max_length=64)
    calls = fields.IntField(default=0)
    seconds = fields.IntField(default=0)
    scored = fields.IntField(default=0)
    grammar_sum = fields.IntField(default=0)
    vocabulary_sum = fields.IntField(default=0)
    fluency_sum = fields.IntField(default=0)
    pronunciation_sum = fields.IntField(default=0)

    class Meta:
        table = "progress_days"
        unique_together = (("user", "local_day", "topic_key"),)


class ProgressState(Model):
    """Per learner: the timezone the day rows are in, and the current run of call days.

    Locked by every progress write, so one learner's counters change one transaction at a time.
    """

    user: fields.OneToOneRelation[User] = fields.OneToOneField(
        "accounts.User", related_name="progress_state", on_delete=fields.CASCADE, primary_key=True
    )
    user_id: UUID
    timezone = fields.CharField(max_length=64)
    streak_start = fields.IntField(null=True)
    streak_last = fields.IntField(null=True)

    class Meta:
        table = "progress_state"
