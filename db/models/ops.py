"""Operational tables: the durable job queue and received webhook deliveries."""

from __future__ import annotations

from typing import Any

from tortoise import fields
from tortoise.models import Model


class Job(Model):
    id = fields.BigIntField(primary_key=True)
    kind = fields.CharField(max_length=48)
    payload: dict[str, Any] = fields.JSONField(default=dict)
    status = fields.CharField(max_length=16, default="queued")
    run_at = fields.DatetimeField()
    attempts = fields.IntField(default=0)
    max_attempts = fields.IntField(default=5)
    locked_until = fields.DatetimeField(null=True)
    locked_by = fields.CharField(max_length=64, null=True)
    last_error = fields.TextField(null=True)
    dedupe_key = fields.CharField(max_length=200, unique=True, null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    finished_at = fields.DatetimeField(null=True)

    class Meta:
        table = "jobs"
        indexes = (("status", "run_at"),)


class WebhookDelivery(Model):
    id = fields.BigIntField(primary_key=True)
    provider = fields.CharField(max_length=16)
    dedupe_key = fields.CharField(max_length=300)
    received_at = fields.DatetimeField(auto_now_add=True)
    body = fields.TextField(null=True)
    user_id = fields.UUIDField(null=True, db_index=True)

    class Meta:
        table = "webhook_deliveries"
        unique_together = (("provider", "dedupe_key"),)


class JobProbeRun(Model):
    """One execution of the diagnostic ``probe`` job kind.

    Recorded per execution (not per job) so that "each job ran exactly once" and "a job whose
    worker died ran again" can be checked from outside the worker processes.
    """

    id = fields.BigIntField(primary_key=True)
    job_id = fields.BigIntField(db_index=True)
    attempt = fields.IntField()
    worker_id = fields.CharField(max_length=64)
    started_at = fields.DatetimeField()
    finished_at = fields.DatetimeField(null=True)

    class Meta:
        table = "job_probe_runs"
