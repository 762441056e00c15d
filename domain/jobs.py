"""The durable job worker: claims jobs, runs their handlers, retries with backoff.

Jobs are written by use cases inside their transaction (``UnitOfWork.enqueue``). Handlers must
be idempotent: a lease can lapse while a slow handler is still running, and the job runs again.
Periodic work (plan scheduler, reconciler, retention) is enqueued once per time slot with a
dedupe key, so it runs once however many workers are up.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from tortoise.exceptions import IntegrityError

from db import jobs as queue
from db.models.ops import Job
from domain.clock import Clock

logger = logging.getLogger("callfluently.jobs")


@dataclass(frozen=True, slots=True)
class JobRun:
    """What a handler learns about the run it is part of."""

    job_id: int
    kind: str
    attempt: int
    max_attempts: int
    now: datetime
    worker_id: str = ""

    @property
    def is_last_attempt(self) -> bool:
        return self.attempt >= self.max_attempts


JobHandler = Callable[[dict[str, Any], JobRun], Awaitable[None]]


class RetryLater(Exception):
    """A handler asks to run again after ``delay`` without it counting as a crash."""

    def __init__(self, reason: str, delay: timedelta | None = None) -> None:
        super().__init__(reason)
        self.delay = delay


class GiveUp(Exception):
    """A handler reports a failure that no retry can fix: the job goes straight to dead."""


@dataclass(frozen=True, slots=True)
class Periodic:
    kind: str
    every: timedelta
    payload: dict[str, Any] = field(default_factory=dict)


def backoff(attempt: int, base: float = 2.0, cap: float = 600.0) -> timedelta:
    """Exponential backoff: 2, 4, 8 … seconds, capped at ten minutes."""
    return timedelta(seconds=min(cap, base**attempt))


def slot_of(now: datetime, every: timedelta) -> datetime:
    epoch = datetime(2000, 1, 1, tzinfo=UTC)
    step = (now - epoch) // every
    return epoch + step * every


class Worker:
    """Runs jobs from the table; start with ``run()``, stop with ``stop()``."""

    def __init__(
        self,
        *,
        handlers: Mapping[str, JobHandler],
        clock: Clock,
        periodic: tuple[Periodic, ...] = (),
        poll_s: float = 0.5,
        lease: timedelta = timedelta(seconds=120),
        concurrency: int = 8,
        worker_id: str | None = None,
    ) -> None:
        self.handlers = dict(handlers)
        self.clock = clock
        self.periodic = periodic
        self.poll_s = poll_s
        self.lease = lease
        self.concurrency = concurrency
        # ``jobs.locked_by`` holds 64 characters; long pod hostnames must not break claiming.
        self.worker_id = (
            worker_id or f"{socket.gethostname()[:40]}:{os.getpid()}:{id(self):x}"
        )[:64]
        self._wake = asyncio.Event()
        self._stopping = False
        self._running: set[asyncio.Task[None]] = set()

    def jobs_committed(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()

    async def run(self) -> None:
        """Claim and run jobs until stopped; survives database hiccups."""
        logger.info("worker started", extra={"worker": self.worker_id,
                                             "kinds": sorted(self.handlers)})
        while not self._stopping:
            try:
                await self.enqueue_periodic()
                ran = await self.run_available()
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("worker loop error", extra={"worker": self.worker_id})
                ran = 0
            if ran == 0 and not self._stopping:
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=self.poll_s)
        if self._running:
            await asyncio.gather(*self._running, return_exceptions=True)

    async def enqueue_periodic(self) -> None:
        now = self.clock.now()
        for item in self.periodic:
            if item.kind not in self.handlers:
                continue  # a worker started for other kinds leaves this one to others
            slot = slot_of(now, item.every)
            key = f"{item.kind}@{slot.isoformat()}"
            if await Job.filter(dedupe_key=key).exists():
                continue
            with contextlib.suppress(IntegrityError):  # another process enqueued it first
                await Job.create(
                    kind=item.kind,
                    payload={**item.payload, "slot": slot.isoformat()},
                    run_at=slot,
                    dedupe_key=key,
                )

    async def run_available(self) -> int:
        """Claim one batch and run it to completion; returns how many jobs ran."""
        jobs = await queue.claim(
            worker_id=self.worker_id, now=self.clock.now(), lease=self.lease,
            limit=self.concurrency, kinds=self.handlers.keys(),
        )
        if jobs:
            await asyncio.gather(*(self._track(self._run_one(job)) for job in jobs))
        return len(jobs)

    async def drain(self, max_rounds: int = 100) -> int:
        """Run until nothing is runnable now (commands and tests); returns jobs run."""
        total = 0
        for _ in range(max_rounds):
            ran = await self.run_available()
            total += ran
            if ran == 0:
                break
        return total

    async def _track(self, coro: Awaitable[None]) -> None:
        task = asyncio.ensure_future(coro)
        self._running.add(task)
        try:
            await task
        finally:
            self._running.discard(task)

    async def _run_one(self, job: Job) -> None:
        now = self.clock.now()
        if job.attempts > job.max_attempts:
            # Its last attempt's worker died (the lease lapsed): no attempt is left, but the
            # handler may settle its own state, e.g. an analysis stuck as RUNNING.
            reason = job.last_error or "the worker running the last attempt stopped"
            abandoned = getattr(self.handlers.get(job.kind), "abandoned", None)
            if abandoned is not None:
                try:
                    await abandoned(job.payload, reason)
                except Exception:
                    logger.exception("abandon hook failed", extra={"job_id": job.id,
                                                                    "kind": job.kind})
            await queue.fail(job, worker_id=self.worker_id, error=reason, retry_at=None)
            return
        handler = self.handlers.get(job.kind)
        if handler is None:
            await queue.fail(job, worker_id=self.worker_id, error=f"no handler for {job.kind}",
                             retry_at=None)
            return
        run = JobRun(job_id=job.id, kind=job.kind, attempt=job.attempts,
                     max_attempts=job.max_attempts, now=now, worker_id=self.worker_id)
        try:
            await handler(job.payload, run)
        except RetryLater as signal:
            delay = signal.delay or backoff(job.attempts)
            if run.is_last_attempt:
                await queue.fail(job, worker_id=self.worker_id, error=str(signal), retry_at=None)
            else:
                await queue.fail(job, worker_id=self.worker_id, error=str(signal),
                                 retry_at=self.clock.now() + delay)
            return
        except GiveUp as signal:
            await queue.fail(job, worker_id=self.worker_id, error=str(signal), retry_at=None)
            return
        except Exception as exc:
            logger.exception("job failed", extra={"job_id": job.id, "kind": job.kind,
                                                  "attempt": job.attempts})
            retry_at = None if run.is_last_attempt else self.clock.now() + backoff(job.attempts)
            await queue.fail(job, worker_id=self.worker_id, error=f"{type(exc).__name__}: {exc}",
                             retry_at=retry_at)
            return
        await queue.finish(job, worker_id=self.worker_id, now=self.clock.now())
