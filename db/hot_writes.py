"""Hand-written statements for the webhook hot path: a few rows per delivery, one round trip each.

VAPI bursts status and transcript messages at every call, and building each statement with the
ORM's query builder cost more CPU than running it (bench/README.md, webhooks profile). These
helpers send fixed, parameterised SQL through the same Tortoise connection (so they join the
unit of work's transaction) and convert values with the models' own fields, so what they write
is exactly what the ORM would have written. Both backends run them: PostgreSQL gets ``$n``
parameters, casts and ``FOR NO KEY UPDATE`` (see db/locks.py); SQLite gets ``?n`` parameters
and no lock clause (its transactions are already serialised).
"""

from __future__ import annotations

import re
from datetime import datetime
from functools import cache
from typing import Any
from uuid import UUID

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.timezone import now as db_now

from db.models.calls import Call
from db.models.live import Event

_PARAM = re.compile(r"\$(\d+)")
_CAST = re.compile(r"::[a-z]+")
_CALL_FIELDS = Call._meta.fields_map
#: Plain columns of ``calls`` (named like their fields): the only names ``update_call`` writes.
_CALL_COLUMNS = frozenset(Call._meta.db_fields) & frozenset(_CALL_FIELDS)
_EVENT_PAYLOAD = Event._meta.fields_map["payload"]


def _is_postgres(conn: BaseDBAsyncClient) -> bool:
    return conn.capabilities.dialect == "postgres"


@cache
def _for_sqlite(sql: str) -> str:
    return _CAST.sub("", _PARAM.sub(r"?\1", sql.replace(" FOR NO KEY UPDATE", "")))


async def _rows(conn: BaseDBAsyncClient, sql: str, values: list[Any]) -> list[dict[str, Any]]:
    if not _is_postgres(conn):
        sql = _for_sqlite(sql)
    return await conn.execute_query_dict(sql, values)


def _db_uuid(value: UUID | None) -> str | None:
    return None if value is None else str(value)


async def call_for_update(
    conn: BaseDBAsyncClient, *, provider_call_id: str | None = None, call_id: UUID | None = None
) -> Call | None:
    """The call with VAPI's id ``provider_call_id`` (or our ``call_id``), locked until commit."""
    if provider_call_id is not None:
        rows = await _rows(
            conn, "SELECT * FROM calls WHERE provider_call_id = $1 FOR NO KEY UPDATE",
            [provider_call_id],
        )
    else:
        rows = await _rows(
            conn, "SELECT * FROM calls WHERE id = $1 FOR NO KEY UPDATE", [_db_uuid(call_id)]
        )
    return Call._init_from_db(**rows[0]) if rows else None


async def update_call(conn: BaseDBAsyncClient, call_id: UUID, changes: dict[str, Any]) -> None:
    """``UPDATE calls SET <changes> WHERE id = …`` (like ``Call.filter(id=).update()``)."""
    names = list(changes)
    unknown = set(names) - _CALL_COLUMNS
    if unknown:
        raise ValueError(f"not columns of calls: {sorted(unknown)}")
    assignments = ", ".join(f"{name} = ${i}" for i, name in enumerate(names, start=1))
    values = [_CALL_FIELDS[name].to_db_value(changes[name], Call) for name in names]
    values.append(_db_uuid(call_id))
    sql = f"UPDATE calls SET {assignments} WHERE id = ${len(names) + 1}"  # noqa: S608 (checked names)
    await _rows(conn, sql, values)


async def record_delivery(
    conn: BaseDBAsyncClient, *, provider: str, dedupe_key: str, body: str, user_id: UUID | None
) -> bool:
    """Store a webhook delivery once; False when ``(provider, dedupe_key)`` is already stored
    (a concurrent duplicate waits for the first one's transaction, then is skipped)."""
    rows = await _rows(
        conn,
        "INSERT INTO webhook_deliveries (provider, dedupe_key, received_at, body, user_id)"
        " VALUES ($1, $2, $3, $4, $5)"
        " ON CONFLICT (provider, dedupe_key) DO NOTHING RETURNING id",
        [provider, dedupe_key, db_now(), body, _db_uuid(user_id)],
    )
    return bool(rows)


async def append_final_turn(
    conn: BaseDBAsyncClient, *, call_id: UUID, role: str, text: str
) -> int | None:
    """Append a final transcript line after the call's last turn, unless the call already has
    this exact line; returns its ``seq`` (None: already stored). The call must be locked."""
    rows = await _rows(
        conn,
        "INSERT INTO transcript_turns (call_id, seq, role, text)"
        " SELECT $1::uuid, COALESCE(MAX(seq), 0) + 1, $2::varchar, $3::text"
        " FROM transcript_turns WHERE call_id = $1"
        " HAVING NOT EXISTS (SELECT 1 FROM transcript_turns"
        " WHERE call_id = $1 AND role = $2 AND text = $3)"
        " RETURNING seq",
        [_db_uuid(call_id), role, text],
    )
    return int(rows[0]["seq"]) if rows else None


async def insert_event(
    conn: BaseDBAsyncClient,
    *,
    user_id: UUID,
    call_id: UUID | None,
    type: str,
    payload: dict[str, Any],
    created_at: datetime,
) -> int:
    """Write an event-log row (as ``Event.create`` would) and return its id."""
    rows = await _rows(
        conn,
        "INSERT INTO events (user_id, call_id, type, payload, created_at)"
        " VALUES ($1, $2, $3, $4, $5) RETURNING id",
        [_db_uuid(user_id), _db_uuid(call_id), type,
         _EVENT_PAYLOAD.to_db_value(payload, Event), created_at],
    )
    return int(rows[0]["id"])
