"""The Tortoise configuration: one app per domain, each with its own migrations package."""

from __future__ import annotations

from typing import Any

APPS: dict[str, list[str]] = {
    "accounts": ["db.models.accounts", "db.models.api_keys"],
    "topics": ["db.models.topics"],
    "calls": ["db.models.calls", "db.models.plans"],
    "billing": ["db.models.billing"],
    "analysis": ["db.models.analysis"],
    "live": ["db.models.live"],
    "ops": ["db.models.ops", "db.models.persisted_queries"],
    "privacy": ["db.models.privacy"],
}


def tortoise_config(database_url: str) -> dict[str, Any]:
    """Build the Tortoise config for ``database_url`` (PostgreSQL via asyncpg, or SQLite)."""
    url = database_url
    if url.startswith("postgresql://"):
        url = "postgres://" + url.removeprefix("postgresql://")
    connection: str | dict[str, Any] = url
    if url.startswith(("postgres://", "asyncpg://")):
        from tortoise.backends.base.config_generator import expand_db_url

        from db.pool import PooledConnection

        connection = expand_db_url(url)
        connection["credentials"]["connection_class"] = PooledConnection
    return {
        "connections": {"default": connection},
        "apps": {
            label: {
                "models": modules,
                "default_connection": "default",
                "migrations": f"db.migrations.{label}",
            }
            for label, modules in APPS.items()
        },
        "use_tz": True,
        "timezone": "UTC",
    }


#: Used only by the migration-authoring command (``python main.py makemigrations``).
CLI_CONFIG = tortoise_config("sqlite://:memory:")
