"""Finding rows whose text or JSON column mentions given values (ids, emails, phone numbers).

Job payloads, webhook bodies and event payloads are free-form, so erasing a learner means
searching them as text. ``LIKE`` with an escape clause works the same on PostgreSQL (over the
``jsonb`` cast to text) and SQLite (where JSON is already text).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from tortoise import connections
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.models import Model

#: How many needles go into one statement (keeps the parameter list small on both databases).
CHUNK = 40


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _is_postgres(conn: BaseDBAsyncClient) -> bool:
    return conn.capabilities.dialect == "postgres"


async def ids_mentioning(
    model: type[Model],
    column: str,
    needles: Iterable[str],
    *,
    conn: BaseDBAsyncClient | None = None,
) -> list[Any]:
    """Primary keys of ``model`` rows whose ``column`` contains any of ``needles`` (exact case)."""
    values = sorted({n for n in needles if n})
    if not values:
        return []
    db = conn or connections.get("default")
    pg = _is_postgres(db)
    table = model._meta.db_table
    pk = model._meta.db_pk_column
    found: list[Any] = []
    for start in range(0, len(values), CHUNK):
        chunk: Sequence[str] = values[start : start + CHUNK]
        marks = [f"${i}" for i in range(1, len(chunk) + 1)] if pg else ["?"] * len(chunk)
        clauses = " OR ".join(f"CAST(\"{column}\" AS TEXT) LIKE {m} ESCAPE '\\'" for m in marks)
        sql = f'SELECT "{pk}" AS pk FROM "{table}" WHERE {clauses}'  # noqa: S608 - names from models
        _, rows = await db.execute_query(sql, [f"%{_escape(v)}%" for v in chunk])
        found.extend(row["pk"] for row in rows)
    return sorted(set(found), key=str)
