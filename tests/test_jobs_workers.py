"""The durable job queue's guarantees: each job runs once however many workers claim, a crashed
worker's job runs again once its lease lapses, and workers claim only kinds they can run.

The multi-process tests start real ``python main.py worker`` processes on this run's database
with ``WORKER_KINDS=probe``: the diagnostic ``probe`` job records every execution in
``job_probe_runs``, so the tests count executions rather than trust logs. The service's own
in-process worker never runs probes (they are opt-in), so only the spawned processes do.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from db import jobs as queue
from db.models.ops import Job, JobProbeRun
from domain.clock import ManualClock
from domain.job_probe import PROBE_JOB
from domain.jobs import JobRun, Worker
from main import Runtime

REPO = Path(__file__).resolve().parent.parent


async def wait_until(check: Callable[[], Awaitable[bool]], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


class WorkerProcess:
    """``python main.py worker`` for probe jobs only, output captured to a file."""

    def __init__(self, db_url: str, lease_s: float) -> None:
        self.log = Path(tempfile.mkstemp(prefix="cf-worker-", suffix=".log")[1])
        env = {**os.environ, "DATABASE_URL": db_url, "WORKER_KINDS": PROBE_JOB,
               "JOB_LEASE_S": str(lease_s), "WORKER_POLL_S": "0.1", "LOG_LEVEL": "INFO"}
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen([sys.executable, "main.py", "worker"], cwd=REPO,
                                         env=env, stdout=out, stderr=subprocess.STDOUT)

    async def ready(self, timeout: float = 30.0) -> None:
        async def started() -> bool:
            if self.proc.poll() is not None:
                raise AssertionError(f"worker exited early:\n{self.log.read_text()}")
            return "worker started" in self.log.read_text(errors="replace")

        await wait_until(started, timeout, "the worker process to start")

    def owns(self, worker_id: str) -> bool:
        return f":{self.proc.pid}:" in worker_id

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.log.unlink(missing_ok=True)


@pytest.fixture
async def spawn(
    runtime: Runtime, db_url: str
) -> AsyncIterator[Callable[[float], WorkerProcess]]:
    """Start worker processes on this run's (already migrated) database; all stopped after."""
    started: list[WorkerProcess] = []

    def start(lease_s: float) -> WorkerProcess:
        worker = WorkerProcess(db_url, lease_s)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()


async def enqueue_probes(count: int, payload: dict[str, Any]) -> list[int]:
    """Queue ``count`` probe jobs due now (real time: the spawned workers use the system clock)."""
    tag = uuid.uuid4().hex
    now = datetime.now(UTC)
    await Job.bulk_create([
        Job(kind=PROBE_JOB, payload=payload, run_at=now, dedupe_key=f"probe:{tag}:{i}")
        for i in range(count)
    ])
    return list(await Job.filter(dedupe_key__startswith=f"probe:{tag}:").order_by("id")
                .values_list("id", flat=True))


@pytest.mark.postgres_only
@pytest.mark.slow
async def test_two_worker_processes_run_200_jobs_each_exactly_once(
    spawn: Callable[[float], WorkerProcess],
) -> None:
    first, second = spawn(30), spawn(30)
    await first.ready()
    await second.ready()

    ids = await enqueue_probes(200, {"sleep_s": 0.05})
    await wait_until(
        lambda: _count_done(ids, 200), 30, "200 probe jobs to finish"
    )

    jobs = await Job.filter(id__in=ids)
    assert {(j.status, j.attempts) for j in jobs} == {("done", 1)}
    runs = await JobProbeRun.filter(job_id__in=ids)
    assert len(runs) == 200
    assert sorted(r.job_id for r in runs) == ids  # every job once, none twice
    assert all(r.finished_at is not None and r.attempt == 1 for r in runs)
    by_first = sum(first.owns(r.worker_id) for r in runs)
    by_second = sum(second.owns(r.worker_id) for r in runs)
    assert by_first + by_second == 200
    assert by_first > 0 and by_second > 0  # both processes took part


async def _count_done(ids: list[int], expected: int) -> bool:
    return await Job.filter(id__in=ids, status="done").count() == expected


@pytest.mark.postgres_only
@pytest.mark.slow
async def test_job_of_a_killed_worker_runs_again_and_completes_once(
    spawn: Callable[[float], WorkerProcess],
) -> None:
    doomed = spawn(2)
    await doomed.ready()
    [job_id] = await enqueue_probes(1, {"hang_on_attempt": 1})
    await wait_until(lambda: JobProbeRun.filter(job_id=job_id).exists(), 15,
                     "the first worker to start the job")

    doomed.kill()
    rescuer = spawn(2)
    await rescuer.ready()
    await wait_until(lambda: Job.filter(id=job_id, status="done").exists(), 20,
                     "the job to be run again after the lease lapsed")

    job = await Job.get(id=job_id)
    assert (job.status, job.attempts, job.last_error) == ("done", 2, None)
    runs = await JobProbeRun.filter(job_id=job_id).order_by("attempt")
    assert [(r.attempt, doomed.owns(r.worker_id), rescuer.owns(r.worker_id),
             r.finished_at is not None) for r in runs] == [
        (1, True, False, False),  # killed mid-job: never finished
        (2, False, True, True),   # run again by the other process: finished once
    ]


async def test_lapsed_lease_hands_the_job_to_another_worker_and_the_late_finish_is_ignored(
    runtime: Runtime,
) -> None:
    """In one process, on any database: worker A claims and goes silent; B takes over."""
    kind = f"lease-{uuid.uuid4().hex[:12]}"
    clock = ManualClock()
    clock.freeze(datetime.now(UTC))
    ran: list[JobRun] = []

    async def record(payload: dict[str, Any], run: JobRun) -> None:
        ran.append(run)

    silent = Worker(handlers={kind: record}, clock=clock, lease=timedelta(seconds=30),
                    worker_id="silent")
    rescuer = Worker(handlers={kind: record}, clock=clock, lease=timedelta(seconds=30),
                     worker_id="rescuer")
    await Job.create(kind=kind, payload={}, run_at=clock.now(), dedupe_key=kind)

    [claimed] = await queue.claim(worker_id=silent.worker_id, now=clock.now(), lease=silent.lease,
                                  limit=1, kinds=[kind])
    assert await rescuer.run_available() == 0  # leased: not claimable
    clock.advance(timedelta(seconds=31))
    assert await rescuer.run_available() == 1
    await queue.finish(claimed, worker_id=silent.worker_id, now=clock.now())  # too late

    job = await Job.get(dedupe_key=kind)
    assert (job.status, job.attempts, job.locked_by) == ("done", 2, "rescuer")
    assert [(r.attempt, r.worker_id) for r in ran] == [(2, "rescuer")]


async def test_workers_claim_only_the_kinds_they_can_run(runtime: Runtime) -> None:
    kind = f"other-{uuid.uuid4().hex[:12]}"
    clock = ManualClock()
    mine = Worker(handlers={f"mine-{kind}": _never}, clock=clock)
    await Job.create(kind=kind, payload={}, run_at=clock.now() - timedelta(seconds=1),
                     dedupe_key=kind)

    assert await mine.drain() == 0
    assert await runtime.worker.drain() == 0  # the service's worker has no handler either

    job = await Job.get(dedupe_key=kind)
    assert (job.status, job.attempts, job.locked_by) == ("queued", 0, None)
    await job.delete()


async def _never(payload: dict[str, Any], run: JobRun) -> None:
    raise AssertionError("must not run")
