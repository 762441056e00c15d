"""Apply and create schema migrations with Tortoise's built-in migration tool."""

from __future__ import annotations

from tortoise import Tortoise
from tortoise.migrations.api.migrate import migrate as tortoise_migrate

from db.config import tortoise_config

#: Arbitrary but fixed: every process of this service agrees on it.
MIGRATION_LOCK_KEY = 0x43464D49  # "CFMI"


async def apply_migrations(database_url: str) -> None:
    """Bring the database at ``database_url`` to the latest migration of every app.

    On PostgreSQL a session advisory lock serialises processes that start together (several
    uvicorn workers, the API and a worker): the first migrates, the others then find nothing
    left to do instead of racing on the same DDL.
    """
    config = tortoise_config(database_url)
    if not database_url.startswith(("postgres://", "postgresql://")):
        await tortoise_migrate(config=config)
        return
    import asyncpg

    lock = await asyncpg.connect(database_url.replace("postgres://", "postgresql://", 1))
    try:
        await lock.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK_KEY)
        await tortoise_migrate(config=config)
    finally:
        try:
            await lock.execute("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK_KEY)
        finally:
            await lock.close()


async def make_migrations(database_url: str, name: str | None = None) -> None:
    """Write new migration files for model changes (developer command)."""
    from tortoise.cli import cli

    ctx = cli.CLIContext(config=None, config_file=None)
    ctx.config = "db.config.CLI_CONFIG"
    await cli.makemigrations(ctx, (), empty=False, name=name)
    await Tortoise.close_connections()
