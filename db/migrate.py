"""Apply and create schema migrations with Tortoise's built-in migration tool."""

from __future__ import annotations

from tortoise import Tortoise
from tortoise.migrations.api.migrate import migrate as tortoise_migrate

from db.config import tortoise_config


async def apply_migrations(database_url: str) -> None:
    """Bring the database at ``database_url`` to the latest migration of every app."""
    await tortoise_migrate(config=tortoise_config(database_url))


async def make_migrations(database_url: str, name: str | None = None) -> None:
    """Write new migration files for model changes (developer command)."""
    from tortoise.cli import cli

    ctx = cli.CLIContext(config=None, config_file=None)
    ctx.config = "db.config.CLI_CONFIG"
    await cli.makemigrations(ctx, (), empty=False, name=name)
    await Tortoise.close_connections()
