"""Claiming jobs from the queue table.

On PostgreSQL ``FOR UPDATE SKIP LOCKED`` lets any number of workers claim disjoint batches; on
SQLite the single writer serialises claims. A claim sets a lease (``locked_until``); a worker
that dies lets its lease lapse and the job is claimed again.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, datetime, timedelta
from typing import Any

from tortoise import connections

from db.models.ops import Job

_CLAIM = """
UPDATE jobs SET status = 'running', attempts = attempts + 1,
       locked_until = {lease}, locked_by = {worker}
 WHERE id IN (
       SELECT id FROM jobs
        WHERE ((status = 'queued' AND run_at <= {now})
               OR (status = 'running' AND locked_until < {now_again}))
          AND kind IN ({kinds})
        ORDER BY run_at, id
        LIMIT {limit} {lock})
RETURNING id
"""


def _is_postgres() -> bool:
    return bool(connections.get("default").capabilities.dialect == "postgres")


async def claim(
    *, worker_id: str, now: datetime, lease: timedelta, limit: int, kinds: Collection[str]
) -> list[Job]:
    """Lease up to ``limit`` runnable jobs of ``kinds`` to ``worker_id``.

    A worker claims only kinds it has a handler for, so a process started with a subset of
    kinds (``WORKER_KINDS``), or an older release during a deploy, leaves other jobs alone.
    """
    if not kinds:
        return []
    pg = _is_postgres()
    params: list[Any] = []

    def bind(value: Any) -> str:
        params.append(value)
        return f"${len(params)}" if pg else "?"

    # Bound in the order the placeholders appear in the SQL, which is what SQLite's "?" needs.
    lease_p, worker_p, now_p = bind(now + lease), bind(worker_id), bind(now)
    sql = _CLAIM.format(
        lease=lease_p, worker=worker_p, now=now_p, now_again=now_p if pg else bind(now),
        kinds=", ".join(bind(kind) for kind in sorted(kinds)), limit=bind(limit),
        lock="FOR UPDATE SKIP LOCKED" if pg else "",
    )
    # ``execute_query`` on asyncpg runs UPDATE with ``execute`` and drops the RETURNING rows
    # (every claim looked empty while leasing jobs); ``execute_query_dict`` always fetches.
    rows = await connections.get("default").execute_query_dict(sql, params)
    ids = [row["id"] for row in rows]
    if not ids:
        return []
    return await Job.filter(id__in=ids).order_by("run_at", "id")


async def finish(job: Job, *, worker_id: str, now: datetime) -> None:
    await Job.filter(id=job.id, locked_by=worker_id, status="running").update(
        status="done", finished_at=now, locked_until=None, last_error=None
    )


async def fail(job: Job, *, worker_id: str, error: str, retry_at: datetime | None) -> None:
    """Requeue for ``retry_at``, or mark dead when None."""
    update: dict[str, Any] = {"last_error": error[:2000], "locked_until": None}
    if retry_at is None:
        update.update(status="dead", finished_at=datetime.now(UTC))
    else:
        update.update(status="queued", run_at=retry_at)
    await Job.filter(id=job.id, locked_by=worker_id, status="running").update(**update)
