"""A learner's call plan and coaching preferences (part of the calls app)."""

from __future__ import annotations

from typing import TYPE_CHECKING
from uuid import UUID

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from db.models.accounts import User


class CallPlan(Model):
    user: fields.OneToOneRelation[User] = fields.OneToOneField(
        "accounts.User", related_name="call_plan", on_delete=fields.CASCADE, primary_key=True
    )
    user_id: UUID
    days_of_week: list[int] = fields.JSONField(default=list)
    local_time = fields.CharField(max_length=5)
    timezone = fields.CharField(max_length=64)
    minutes_per_call = fields.IntField()
    active = fields.BooleanField(default=True)
    # Slots before this instant never fire, so a plan set at 09:05 for 09:00 does not dial at
    # once. Written from the injected clock (``updated_at`` follows the wall clock).
    effective_from = fields.DatetimeField(null=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "call_plans"


class Preferences(Model):
    user: fields.OneToOneRelation[User] = fields.OneToOneField(
        "accounts.User", related_name="preferences", on_delete=fields.CASCADE, primary_key=True
    )
    user_id: UUID
    coach_voice = fields.CharField(max_length=32, default="FRIENDLY_FEMALE")
    correction_style = fields.CharField(max_length=32, default="GENTLE")
    target_level = fields.CharField(max_length=2, default="B2")
    explanation_language = fields.CharField(max_length=8, default="en")
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "preferences"
