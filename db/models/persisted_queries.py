"""The persisted-query registry (ops app): documents an admin registered for allow-list mode."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class PersistedQuery(Model):
    """A GraphQL document registered by an admin, keyed by the SHA-256 of its text. Production
    API keys (and every caller when PERSISTED_QUERIES_ONLY is set) may run only these."""

    sha256 = fields.CharField(max_length=64, primary_key=True)
    document = fields.TextField()
    name = fields.CharField(max_length=200, null=True)
    registered_by = fields.UUIDField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "persisted_queries"
