"""Claude's analysis of a call, the corrections it found, and the level history."""

from __future__ import annotations

import uuid
from typing import Any

from tortoise import fields
from tortoise.models import Model


class Analysis(Model):
    id = fields.UUIDField(primary_key=True, default=uuid.uuid4)
    call: fields.OneToOneRelation[object] = fields.OneToOneField(
        "calls.Call", related_name="analysis", on_delete=fields.CASCADE
    )
    user: fields.ForeignKeyRelation[object] = fields.ForeignKeyField(
        "accounts.User", related_name="analyses", on_delete=fields.CASCADE
    )
    status = fields.CharField(max_length=16, default="pending")
    grammar = fields.IntField(null=True)
    vocabulary = fields.IntField(null=True)
    fluency = fields.IntField(null=True)
    pronunciation = fields.IntField(null=True)
    pronunciation_basis = fields.CharField(max_length=32, null=True)
    pronunciation_confidence = fields.FloatField(null=True)
    cefr_level = fields.CharField(max_length=2, null=True)
    summary = fields.TextField(null=True)
    strengths: list[str] = fields.JSONField(default=list)  # type: ignore[assignment]
    vocabulary_suggestions: list[dict[str, Any]] = fields.JSONField(default=list)  # type: ignore[assignment]
    next_focus = fields.TextField(null=True)
    fluency_evidence: dict[str, Any] = fields.JSONField(default=dict)  # type: ignore[assignment]
    model = fields.CharField(max_length=100, null=True)
    prompt_version = fields.CharField(max_length=32, null=True)
    attempts = fields.IntField(default=0)
    error = fields.TextField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    completed_at = fields.DatetimeField(null=True)

    class Meta:
        table = "analyses"


class Correction(Model):
    id = fields.BigIntField(primary_key=True)
    analysis: fields.ForeignKeyRelation[Analysis] = fields.ForeignKeyField(
        "analysis.Analysis", related_name="corrections", on_delete=fields.CASCADE
    )
    user: fields.ForeignKeyRelation[object] = fields.ForeignKeyField(
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
    user: fields.ForeignKeyRelation[object] = fields.ForeignKeyField(
        "accounts.User", related_name="level_history", on_delete=fields.CASCADE
    )
    at = fields.DatetimeField()
    cefr_level = fields.CharField(max_length=2)
    previous_level = fields.CharField(max_length=2, null=True)
    analysis: fields.ForeignKeyNullableRelation[Analysis] = fields.ForeignKeyField(
        "analysis.Analysis", related_name="level_changes", null=True, on_delete=fields.SET_NULL
    )
    reason = fields.TextField()

    class Meta:
        table = "level_history"
