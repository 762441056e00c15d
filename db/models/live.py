"""The replayable event log: every live event is a row first, a bus message after commit."""

from __future__ import annotations

from typing import Any

from tortoise import fields
from tortoise.models import Model


class Event(Model):
    id = fields.BigIntField(primary_key=True)
    user_id = fields.UUIDField(db_index=True)
    call_id = fields.UUIDField(null=True, db_index=True)
    type = fields.CharField(max_length=48)
    payload: dict[str, Any] = fields.JSONField(default=dict)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "events"
