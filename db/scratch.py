"""Throw-away PostgreSQL databases beside an admin URL, one per test or benchmark run.

Each run gets its own uniquely named database, so migrations run from empty and concurrent runs
on one server never see each other's rows. Only names with the run's prefix are ever dropped.
"""

from __future__ import annotations

import os
import uuid

import asyncpg


def dsn(url: str) -> str:
    """asyncpg spells the scheme ``postgresql://``; the app accepts ``postgres://``."""
    return url.replace("postgres://", "postgresql://", 1)


async def create_scratch(admin_url: str, prefix: str) -> str:
    """Create an empty database named ``<prefix><pid>_<random>`` and return its URL."""
    base, _, _ = admin_url.rpartition("/")
    name = f"{prefix}{os.getpid()}_{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(dsn(admin_url))
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return f"{base}/{name}"


async def drop_scratch(admin_url: str, url: str, prefix: str) -> None:
    """Drop the scratch database at ``url``; refuses any name without ``prefix``."""
    name = url.rpartition("/")[2]
    if not name.startswith(prefix):
        raise ValueError(f"refusing to drop {name!r}: not a {prefix}* scratch database")
    conn = await asyncpg.connect(dsn(admin_url))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()
