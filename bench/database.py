"""A scratch PostgreSQL database per run: created next to the admin URL, migrated, dropped.

The admin database itself (``test`` by default) is never written: other engineers' test runs
use the same server at the same time, so every run gets its own uniquely named database.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from tortoise import Tortoise

from db.migrate import apply_migrations
from db.scratch import create_scratch, drop_scratch

DEFAULT_ADMIN_URL = "postgres://postgres@127.0.0.1:5432/test"


PREFIX = "cf_bench_"


async def create(admin_url: str) -> str:
    return await create_scratch(admin_url, PREFIX)


async def drop(admin_url: str, url: str) -> None:
    await drop_scratch(admin_url, url, PREFIX)


async def migrate(url: str) -> None:
    await apply_migrations(url)
    await Tortoise.close_connections()


@asynccontextmanager
async def scratch_database(admin_url: str) -> AsyncIterator[str]:
    """A migrated, empty database for the duration of the block; dropped even on failure."""
    url = await create(admin_url)
    try:
        await migrate(url)
        yield url
    finally:
        await drop(admin_url, url)
