"""Claiming jobs from the queue table.

On PostgreSQL ``FOR UPDATE SKIP LOCKED`` lets any number of workers claim disjoint batches; on
SQLite the single writer serialises claims. A claim sets a lease (``locked_until``); a worker
that dies lets its lease lapse and the job is claimed again.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from tortoise import connections

from db.models.ops import Job

_CLAIM = """
UPDATE jobs SET status = 'running', attempts = attempts + 1,
       locked_until = {p}1, locked_by = {p}2
 WHERE id IN (
       SELECT id FROM jobs
        WHERE (status = 'queued' AND run_at <= {p}3)
           OR (status = 'running' AND locked_until < {p}3)
        ORDER BY run_at, id
        LIMIT {p}4 {lock})
RETURNING id
"""


def _is_postgres() -> bool:
    return connections.get("default").capabilities.dialect == "postgres"


async def claim(*, worker_id: str, now: datetime, lease: timedelta, limit: int) -> list[Job]:
    """Lease up to ``limit`` runnable jobs to ``worker_id``."""
    pg = _is_postgres()
    sql = _CLAIM.format(p="$" if pg else "?", lock="FOR UPDATE SKIP LOCKED" if pg else "")
    if not pg:
        sql = sql.replace("?1", "?").replace("?2", "?").replace("?3", "?").replace("?4", "?")
        params: list[Any] = [now + lease, worker_id, now, now, limit]
    else:
        params = [now + lease, worker_id, now, limit]
    conn = connections.get("default")
    _, rows = await conn.execute_query(sql, params)
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
