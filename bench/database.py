"""A scratch PostgreSQL database per run: created next to the admin URL, migrated, dropped.

The admin database itself (``test`` by default) is never written: other engineers' test runs
use the same server at the same time, so every run gets its own uniquely named database.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
from tortoise import Tortoise

from db.migrate import apply_migrations

DEFAULT_ADMIN_URL = "postgres://postgres@127.0.0.1:5432/test"


def dsn(url: str) -> str:
    """asyncpg spells the scheme ``postgresql://``; the app accepts ``postgres://``."""
    return url.replace("postgres://", "postgresql://", 1)


async def create(admin_url: str) -> str:
    base, _, _ = admin_url.rpartition("/")
    name = f"cf_bench_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(dsn(admin_url))
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return f"{base}/{name}"


async def drop(admin_url: str, url: str) -> None:
    name = url.rpartition("/")[2]
    if not name.startswith("cf_bench_"):
        raise ValueError(f"refusing to drop {name!r}: not a bench database")
    conn = await asyncpg.connect(dsn(admin_url))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


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
