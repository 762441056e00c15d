"""The topic catalog and each learner's chosen topics."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from db.models.accounts import User


class Topic(Model):
    id = fields.UUIDField(primary_key=True, default=uuid.uuid4)
    slug = fields.CharField(max_length=64, unique=True)
    title = fields.CharField(max_length=120)
    description = fields.TextField()
    level_min = fields.CharField(max_length=2)
    level_max = fields.CharField(max_length=2)
    instructions = fields.TextField()
    active = fields.BooleanField(default=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "topics"


class UserTopic(Model):
    id = fields.IntField(primary_key=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "accounts.User", related_name="user_topics", on_delete=fields.CASCADE
    )
    user_id: uuid.UUID
    topic: fields.ForeignKeyRelation[Topic] = fields.ForeignKeyField(
        "topics.Topic", related_name="user_topics", on_delete=fields.CASCADE
    )
    topic_id: uuid.UUID
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "user_topics"
        unique_together = (("user", "topic"),)
