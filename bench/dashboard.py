"""Benchmarks 1-3: the dashboard query against the hand-written endpoint, SQL statements per
dashboard request by history size, and ``progress(granularity: MONTH)`` latency by history size.

The read benchmarks run the service with its job worker off (``WORKER_ENABLED=0``), so nothing
but the requests runs in it.
"""

from __future__ import annotations

import math
from typing import Any

import httpx
import orjson

from bench import load, queries
from bench.counted_app import HEADER
from bench.http1 import Connection
from bench.load import Side
from bench.run import Bench
from bench.server import baseline_argv, free_port, start

#: A learner 1,000× richer in history may take at most 1000**0.25 ≈ 5.6× as long.
PROGRESS_EXPONENT_LIMIT = 0.25
DASHBOARD_RATIO_LIMIT = 1.5
STATEMENTS_LIMIT = 15


def graphql_sender(document: str, headers: dict[str, str]) -> load.RequestFn:
    body = orjson.dumps({"query": document})
    headers = {**headers, "content-type": "application/json"}

    async def send(conn: Connection, worker: int, seq: int) -> bool:
        response = await conn.request("POST", "/graphql", headers, body)
        return response.status_code == 200 and b'"errors"' not in response.content

    return send


def get_sender(path: str, headers: dict[str, str]) -> load.RequestFn:
    async def send(conn: Connection, worker: int, seq: int) -> bool:
        response = await conn.request("GET", path, headers)
        return response.status_code == 200

    return send


async def same_json(graphql_url: str, baseline_url: str, headers: dict[str, str]
                    ) -> tuple[bool, dict[str, Any]]:
    """Whether both endpoints answer the same JSON (a sample of each for the report)."""
    async with httpx.AsyncClient(timeout=30) as client:
        ours = await client.post(graphql_url + "/graphql", json={"query": queries.DASHBOARD},
                                 headers=headers)
        theirs = await client.get(baseline_url + "/dashboard", headers=headers)
    a, b = ours.json(), theirs.json()
    return a == b, {"graphql_bytes": len(ours.content), "baseline_bytes": len(theirs.content),
                    "differs_at": _first_difference(a, b)}


def _first_difference(a: Any, b: Any, path: str = "") -> str | None:
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b)):
            found = _first_difference(a.get(key), b.get(key), f"{path}.{key}")
            if found:
                return found
        return None
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return f"{path}: {len(a)} vs {len(b)} items"
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            found = _first_difference(x, y, f"{path}[{i}]")
            if found:
                return found
        return None
    return None if a == b else f"{path}: {a!r} vs {b!r}"


async def dashboard_throughput(bench: Bench, service_url: str, service: Any) -> None:
    cfg, report = bench.config, bench.report
    learner = bench.seeded.history[cfg.dashboard_learner]
    headers = bench.bearer(learner)
    port = free_port()
    argv = baseline_argv("bench.baseline_dashboard:app", port)
    baseline = await start("baseline-dashboard", argv, bench.env(), port, bench.log_dir)
    try:
        same, sample = await same_json(service_url, baseline.url, headers)
        ours, theirs = await load.compare(
            Side("GraphQL /graphql", service_url, graphql_sender(queries.DASHBOARD, headers),
                 service),
            Side("hand-written /dashboard", baseline.url, get_sender("/dashboard", headers),
                 baseline),
            concurrency=cfg.dashboard_concurrency, seconds=cfg.seconds, rounds=cfg.rounds,
            warmup_s=cfg.warmup_s,
        )
    finally:
        baseline.stop()
    ratio = theirs.rps / ours.rps if ours.rps else math.inf
    report.load_table(f"1. Dashboard query, learner with {cfg.dashboard_learner:,} calls, "
                      f"concurrency {cfg.dashboard_concurrency} (same JSON: "
                      f"{'yes' if same else 'NO'})", [ours, theirs])
    report.details["dashboard"] = {"graphql": ours.summary(), "baseline": theirs.summary(),
                                   "ratio": round(ratio, 2), "same_json": same, **sample}
    cpu = (ours.server_cpu_ms_per_request or 0.0, theirs.server_cpu_ms_per_request or 0.0)
    report.details["dashboard"]["server_cpu_ms_per_request"] = [round(c, 3) for c in cpu]
    report.target("1", "dashboard: hand-written req/s ÷ GraphQL req/s",
                  f"{ratio:.2f}× ({ours.rps:,.0f} vs {theirs.rps:,.0f} req/s; server CPU "
                  f"{cpu[0]:.1f} vs {cpu[1]:.1f} ms/req)",
                  f"≤ {DASHBOARD_RATIO_LIMIT}×", ratio <= DASHBOARD_RATIO_LIMIT and same)


async def statements(bench: Bench) -> None:
    """Count each dashboard request's statements inside the server (bench/counted_app.py)."""
    cfg, report = bench.config, bench.report
    server = await bench.service("service-counted", module="bench.counted_app")
    counts: dict[int, list[int]] = {}
    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
            for size, learner in sorted(bench.seeded.history.items()):
                headers = bench.bearer(learner)
                for _ in range(cfg.statement_samples):
                    response = await client.post("/graphql", json={"query": queries.DASHBOARD},
                                                 headers=headers)
                    response.raise_for_status()
                    counts.setdefault(size, []).append(int(response.headers[HEADER.decode()]))
    finally:
        server.stop()
    report.table("2. SQL statements per dashboard request (counted in the server)",
                 ["calls", "statements (each request)"],
                 [[f"{size:,}", " ".join(map(str, c))] for size, c in counts.items()])
    report.details["statements"] = {str(k): v for k, v in counts.items()}
    distinct = {n for c in counts.values() for n in c}
    figure = (f"{distinct.pop()} for every size" if len(distinct) == 1
              else "varies: " + ", ".join(f"{k:,}→{v}" for k, v in counts.items()))
    sizes = f"{min(counts):,} → {max(counts):,} calls"
    report.target("2", f"SQL statements per dashboard request, {sizes}", figure,
                  f"one constant ≤ {STATEMENTS_LIMIT}",
                  len({n for c in counts.values() for n in c}) == 1
                  and max(max(c) for c in counts.values()) <= STATEMENTS_LIMIT)


def loglog_slope(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of log(latency) over log(calls): 1 is linear, 0 is flat."""
    xs = [math.log(x) for x, _ in points]
    ys = [math.log(y) for _, y in points]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    var = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / var if var else 0.0


async def progress_latency(bench: Bench, service_url: str, service: Any) -> None:
    cfg, report = bench.config, bench.report
    results = []
    for size, learner in sorted(bench.seeded.history.items()):
        send = graphql_sender(queries.PROGRESS_MONTH, bench.bearer(learner))
        results.append((size, await load.run_for(
            f"{size:,} calls", send, base_url=service_url, concurrency=1,
            seconds=cfg.progress_seconds, warmup_s=cfg.warmup_s / 2, server=service)))
    slope = loglog_slope([(size, r.p50_ms) for size, r in results])
    smallest, largest = results[0], results[-1]
    per_call_us = ((largest[1].p50_ms - smallest[1].p50_ms) * 1000
                   / max(1, largest[0] - smallest[0]))
    report.table("3. progress(granularity: MONTH), one request at a time",
                 ["calls", "p50 ms", "p99 ms", "requests"],
                 [[f"{size:,}", f"{r.p50_ms:.1f}", f"{r.p99_ms:.1f}", f"{r.ok:,}"]
                  for size, r in results])
    report.details["progress"] = {
        "by_calls": {str(size): r.summary() for size, r in results},
        "loglog_slope": round(slope, 3), "linear_slope_us_per_call": round(per_call_us, 2)}
    report.target("3", f"progress(MONTH) p50 growth, {smallest[0]:,} → {largest[0]:,} calls "
                  "(log-log slope)",
                  f"{slope:.2f} ({smallest[1].p50_ms:.1f} → {largest[1].p50_ms:.1f} ms, "
                  f"{per_call_us:.1f} µs/call)", f"≤ {PROGRESS_EXPONENT_LIMIT} (1 = linear)",
                  slope <= PROGRESS_EXPONENT_LIMIT)


async def run(bench: Bench) -> None:
    cfg = bench.config
    if cfg.selected("dashboard") or cfg.selected("progress"):
        service = await bench.service("service-read", WORKER_ENABLED="0")
        try:
            if cfg.selected("dashboard"):
                await dashboard_throughput(bench, service.url, service)
            if cfg.selected("progress"):
                await progress_latency(bench, service.url, service)
        finally:
            service.stop()
    if cfg.selected("statements"):
        await statements(bench)
