"""Privacy requests, exports, the audit trail, consents and the email outbox."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any
from uuid import UUID

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from db.models.accounts import User


class PrivacyRequest(Model):
    id = fields.UUIDField(primary_key=True, default=uuid.uuid4)
    user: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "accounts.User", related_name="privacy_requests", null=True, on_delete=fields.SET_NULL
    )
    user_id: UUID | None
    account_ref = fields.UUIDField(db_index=True)
    kind = fields.CharField(max_length=16)
    jurisdiction = fields.CharField(max_length=8)
    status = fields.CharField(max_length=16, default="received")
    received_at = fields.DatetimeField()
    due_at = fields.DatetimeField()
    completed_at = fields.DatetimeField(null=True)
    details: dict[str, Any] = fields.JSONField(default=dict)

    class Meta:
        table = "privacy_requests"


class DataExport(Model):
    id = fields.UUIDField(primary_key=True, default=uuid.uuid4)
    request: fields.ForeignKeyRelation[PrivacyRequest] = fields.ForeignKeyField(
        "privacy.PrivacyRequest", related_name="exports", on_delete=fields.CASCADE
    )
    request_id: UUID
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "accounts.User", related_name="data_exports", on_delete=fields.CASCADE
    )
    user_id: UUID
    token_hash = fields.CharField(max_length=64, unique=True, null=True)
    document = fields.TextField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    expires_at = fields.DatetimeField()
    used_at = fields.DatetimeField(null=True)

    class Meta:
        table = "data_exports"


class AuditLog(Model):
    id = fields.BigIntField(primary_key=True)
    subject: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "accounts.User", related_name="audit_entries", null=True, on_delete=fields.SET_NULL
    )
    subject_id: UUID | None
    actor_id = fields.UUIDField(null=True)
    actor_role = fields.CharField(max_length=16)
    action = fields.CharField(max_length=48)
    reason = fields.TextField(null=True)
    details: dict[str, Any] = fields.JSONField(default=dict)
    request: fields.ForeignKeyNullableRelation[PrivacyRequest] = fields.ForeignKeyField(
        "privacy.PrivacyRequest", related_name="audit", null=True, on_delete=fields.SET_NULL
    )
    request_id: UUID | None
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "audit_log"


class PolicyVersion(Model):
    version = fields.CharField(max_length=32, primary_key=True)
    published_at = fields.DatetimeField()
    summary = fields.TextField()

    class Meta:
        table = "policy_versions"


class Consent(Model):
    id = fields.BigIntField(primary_key=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "accounts.User", related_name="consents", on_delete=fields.CASCADE
    )
    user_id: UUID
    policy_version = fields.CharField(max_length=32)
    accepted_at = fields.DatetimeField()

    class Meta:
        table = "consents"
        unique_together = (("user", "policy_version"),)


class Notification(Model):
    id = fields.BigIntField(primary_key=True)
    user: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "accounts.User", related_name="notifications", null=True, on_delete=fields.SET_NULL
    )
    user_id: UUID | None
    to_email = fields.CharField(max_length=320, null=True)
    subject = fields.CharField(max_length=300)
    body = fields.TextField()
    status = fields.CharField(max_length=16, default="pending")
    created_at = fields.DatetimeField(auto_now_add=True)
    sent_at = fields.DatetimeField(null=True)

    class Meta:
        table = "notifications"


class RetentionRun(Model):
    id = fields.BigIntField(primary_key=True)
    ran_at = fields.DatetimeField()
    counts: dict[str, Any] = fields.JSONField(default=dict)

    class Meta:
        table = "retention_runs"
