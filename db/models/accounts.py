"""Learners, their sign-in sessions and the login throttle."""

from __future__ import annotations

import uuid

from tortoise import fields
from tortoise.models import Model


class User(Model):
    """A learner (or staff member). ``account_ref`` is the pseudonymous key payments keep."""

    id = fields.UUIDField(primary_key=True, default=uuid.uuid4)
    account_ref = fields.UUIDField(unique=True, default=uuid.uuid4)
    full_name = fields.CharField(max_length=200, null=True)
    email = fields.CharField(max_length=320, unique=True, null=True)
    phone = fields.CharField(max_length=20, null=True)
    password_hash = fields.CharField(max_length=100, null=True)
    google_sub = fields.CharField(max_length=255, unique=True, null=True)
    timezone = fields.CharField(max_length=64, default="UTC")
    cefr_level = fields.CharField(max_length=2, null=True)
    level_under_review = fields.BooleanField(default=False)
    status = fields.CharField(max_length=16, default="active", db_index=True)
    closed_at = fields.DatetimeField(null=True)
    policy_version = fields.CharField(max_length=32, null=True)
    jurisdiction = fields.CharField(max_length=8, null=True)
    objects_to_analysis = fields.BooleanField(default=False)
    objects_to_service_improvement = fields.BooleanField(default=False)
    processing_restricted = fields.BooleanField(default=False)
    role = fields.CharField(max_length=16, default="learner")
    last_sign_in_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "users"


class Session(Model):
    """One sign-in: a refresh-token family plus the technical data the policy names."""

    id = fields.UUIDField(primary_key=True, default=uuid.uuid4)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "accounts.User", related_name="sessions", on_delete=fields.CASCADE
    )
    ip = fields.CharField(max_length=64, null=True)
    user_agent = fields.CharField(max_length=512, null=True)
    device = fields.CharField(max_length=128, null=True)
    method = fields.CharField(max_length=16, default="password")
    created_at = fields.DatetimeField(auto_now_add=True)
    last_used_at = fields.DatetimeField()
    expires_at = fields.DatetimeField()
    revoked_at = fields.DatetimeField(null=True)
    revoked_reason = fields.CharField(max_length=32, null=True)

    class Meta:
        table = "sessions"


class RefreshToken(Model):
    """A refresh token, stored only as its SHA-256.

    A used one presented again revokes the family.
    """

    token_hash = fields.CharField(max_length=64, primary_key=True)
    session: fields.ForeignKeyRelation[Session] = fields.ForeignKeyField(
        "accounts.Session", related_name="refresh_tokens", on_delete=fields.CASCADE
    )
    created_at = fields.DatetimeField(auto_now_add=True)
    used_at = fields.DatetimeField(null=True)

    class Meta:
        table = "refresh_tokens"


class LoginThrottle(Model):
    """Failed sign-in counter per account or per IP, shared by every process."""

    key = fields.CharField(max_length=400, primary_key=True)
    failures = fields.IntField(default=0)
    locked_until = fields.DatetimeField(null=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "login_throttles"
