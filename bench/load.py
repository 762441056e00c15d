"""Fixed-time HTTP load: N workers, each on its own keep-alive connection (bench/http1.py),
sending its next request as soon as the last one is answered, for a fixed number of seconds
after a warm-up.

A candidate and its baseline are run in alternating rounds (A B A B …) within the same run, so
a machine that gets busier or quieter part-way affects both alike. Besides the server's figures
the result records how much CPU the load generator itself used: on a 2-core machine a client
near 100 % of a core is a bottleneck, and the report says so.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from bench.http1 import Connection
from bench.server import Server

#: Sends one request; returns whether it succeeded. Arguments: the worker's connection, the
#: worker's index, a sequence number.
RequestFn = Callable[[Connection, int, int], Awaitable[bool]]


def percentile(values: list[float], q: float) -> float:
    """The ``q``-quantile (0..1) by nearest rank; NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered) + 0.5) - 1))]


@dataclass
class LoadResult:
    name: str
    concurrency: int
    ok: int = 0
    errors: int = 0
    seconds: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)
    client_cpu_s: float = 0.0
    server_cpu_s: float | None = None

    @property
    def rps(self) -> float:
        return self.ok / self.seconds if self.seconds else 0.0

    @property
    def p50_ms(self) -> float:
        return percentile(self.latencies_ms, 0.50)

    @property
    def p99_ms(self) -> float:
        return percentile(self.latencies_ms, 0.99)

    @property
    def client_cpu(self) -> float:
        """Fraction of one core the load generator used."""
        return self.client_cpu_s / self.seconds if self.seconds else 0.0

    @property
    def server_cpu(self) -> float | None:
        return self.server_cpu_s / self.seconds if self.server_cpu_s is not None else None

    @property
    def server_cpu_ms_per_request(self) -> float | None:
        """Server CPU per answered request: steadier than req/s on a shared machine."""
        if self.server_cpu_s is None or not self.ok:
            return None
        return self.server_cpu_s / self.ok * 1000

    def merge(self, other: LoadResult) -> None:
        self.ok += other.ok
        self.errors += other.errors
        self.seconds += other.seconds
        self.latencies_ms += other.latencies_ms
        self.client_cpu_s += other.client_cpu_s
        if other.server_cpu_s is not None:
            self.server_cpu_s = (self.server_cpu_s or 0.0) + other.server_cpu_s

    def summary(self) -> dict[str, Any]:
        return {
            "name": self.name, "concurrency": self.concurrency, "ok": self.ok,
            "errors": self.errors, "seconds": round(self.seconds, 2),
            "requests_per_s": round(self.rps, 1), "p50_ms": round(self.p50_ms, 2),
            "p99_ms": round(self.p99_ms, 2), "client_cpu": round(self.client_cpu, 2),
            "server_cpu": round(self.server_cpu, 2) if self.server_cpu is not None else None,
            "server_cpu_ms_per_request": (round(self.server_cpu_ms_per_request, 3)
                                          if self.server_cpu_ms_per_request is not None
                                          else None),
        }


async def run_for(name: str, send: RequestFn, *, base_url: str, concurrency: int,
                  seconds: float, warmup_s: float = 0.0, server: Server | None = None
                  ) -> LoadResult:
    """Load ``base_url`` with ``concurrency`` workers for ``seconds`` (after ``warmup_s``)."""
    result = LoadResult(name=name, concurrency=concurrency)
    connections = [Connection(base_url) for _ in range(concurrency)]
    sequence = 0
    measuring = False
    stop_at = time.perf_counter() + warmup_s + seconds

    async def worker(index: int) -> None:
        nonlocal sequence
        while (now := time.perf_counter()) < stop_at:
            sequence += 1
            ok = await send(connections[index], index, sequence)
            if not measuring:
                continue
            if ok:
                result.ok += 1
                result.latencies_ms.append((time.perf_counter() - now) * 1000)
            else:
                result.errors += 1

    try:
        tasks = [asyncio.create_task(worker(i)) for i in range(concurrency)]
        await asyncio.sleep(warmup_s)
        measuring = True
        started, cpu0 = time.perf_counter(), time.process_time()
        server_cpu0 = server.cpu_seconds() if server is not None else None
        await asyncio.gather(*tasks)
        result.seconds = time.perf_counter() - started
        result.client_cpu_s = time.process_time() - cpu0
        if server is not None and server_cpu0 is not None:
            result.server_cpu_s = server.cpu_seconds() - server_cpu0
    finally:
        for connection in connections:
            await connection.close()
    return result


@dataclass(frozen=True, slots=True)
class Side:
    """One side of a comparison: what to call it, where, and how to send one request."""

    name: str
    base_url: str
    send: RequestFn
    server: Server | None = None


async def compare(candidate: Side, baseline: Side, *, concurrency: int, seconds: float,
                  rounds: int, warmup_s: float) -> tuple[LoadResult, LoadResult]:
    """Alternate candidate and baseline for ``rounds`` rounds; ``seconds`` is per side in total."""
    totals = (LoadResult(candidate.name, concurrency), LoadResult(baseline.name, concurrency))
    for _ in range(rounds):
        for side, total in zip((candidate, baseline), totals, strict=True):
            part = await run_for(side.name, side.send, base_url=side.base_url,
                                 concurrency=concurrency, seconds=seconds / rounds,
                                 warmup_s=warmup_s, server=side.server)
            total.merge(part)
    return totals
