"""Coaching calls and their transcript turns."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from db.models.accounts import User
    from db.models.topics import Topic


class Call(Model):
    id = fields.UUIDField(primary_key=True, default=uuid.uuid4)
    user_id: uuid.UUID
    topic_id: uuid.UUID | None
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "accounts.User", related_name="calls", on_delete=fields.CASCADE
    )
    topic: fields.ForeignKeyNullableRelation[Topic] = fields.ForeignKeyField(
        "topics.Topic", related_name="calls", null=True, on_delete=fields.SET_NULL
    )
    status = fields.CharField(max_length=16, default="requested", db_index=True)
    ended_reason = fields.CharField(max_length=128, null=True)
    failure_reason = fields.CharField(max_length=500, null=True)
    provider_call_id = fields.CharField(max_length=128, unique=True, null=True)
    plan_slot = fields.CharField(max_length=64, null=True)
    max_duration_s = fields.IntField(default=600)
    requested_at = fields.DatetimeField()
    started_at = fields.DatetimeField(null=True)
    ended_at = fields.DatetimeField(null=True)
    duration_s = fields.IntField(null=True)
    billable_s = fields.IntField(null=True)
    charge_minor = fields.IntField(null=True)
    recording_url = fields.CharField(max_length=1000, null=True)
    recording_expires_at = fields.DatetimeField(null=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "calls"
        indexes = (("user_id", "requested_at"),)


class TranscriptTurn(Model):
    id = fields.BigIntField(primary_key=True)
    call_id: uuid.UUID
    call: fields.ForeignKeyRelation[Call] = fields.ForeignKeyField(
        "calls.Call", related_name="turns", on_delete=fields.CASCADE
    )
    seq = fields.IntField()
    role = fields.CharField(max_length=8)
    text = fields.TextField()
    start_s = fields.FloatField(null=True)
    end_s = fields.FloatField(null=True)
    confidence = fields.FloatField(null=True)

    class Meta:
        table = "transcript_turns"
        unique_together = (("call", "seq"),)
