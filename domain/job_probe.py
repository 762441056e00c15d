"""The ``probe`` job: a diagnostic that records each of its executions.

It exists to check the queue's guarantees from outside the worker processes: every execution
writes a ``job_probe_runs`` row (job, attempt, worker, start, finish), so "200 jobs ran exactly
once each across two processes" and "a job whose worker was killed ran again and finished once"
are facts in a table rather than log lines. Because it only records, running it twice is
harmless, and that is exactly what it is there to observe.

A probe never competes with real work: workers run it only when ``WORKER_KINDS`` names it.
Payload: ``sleep_s`` (seconds to hold the job, at most 60) and ``hang_on_attempt`` (on that
attempt the job hangs as if its worker froze, until the process is killed).
"""

from __future__ import annotations

import asyncio
from typing import Any

from db.models.ops import JobProbeRun
from domain.clock import Clock
from domain.jobs import JobHandler, JobRun

PROBE_JOB = "probe"
MAX_SLEEP_S = 60.0
HANG_S = 3600.0


def probe(*, clock: Clock) -> JobHandler:
    """The probe handler, timing its records with ``clock``."""

    async def handler(payload: dict[str, Any], run: JobRun) -> None:
        record = await JobProbeRun.create(
            job_id=run.job_id, attempt=run.attempt, worker_id=run.worker_id[:64],
            started_at=clock.now(),
        )
        if payload.get("hang_on_attempt") == run.attempt:
            await asyncio.sleep(HANG_S)
        sleep_s = payload.get("sleep_s", 0)
        if isinstance(sleep_s, int | float) and sleep_s > 0:
            await asyncio.sleep(min(float(sleep_s), MAX_SLEEP_S))
        await JobProbeRun.filter(id=record.id).update(finished_at=clock.now())

    return handler
