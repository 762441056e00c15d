"""Benchmark 5: subscription fan-out on one service process.

2,000 graphql-transport-ws subscribers (bench/subscribers.py, a separate process) are spread
evenly over learners who each have a call in progress; half follow ``callUpdates(callId)``, half
``myEvents``, as a dashboard does. Events are live transcript lines posted to the real signed VAPI
webhook at a steady rate, so each one goes webhook → transaction → event log → bus →
subscriptions → WebSocket. Latency is measured end to end, from just before the webhook POST to
the subscriber's receipt. Resident memory per idle subscriber is the growth of the server
process's RSS from before the first subscriber to when all are connected, live (each got a
warm-up event) and idle again, divided by the number of subscribers.
"""

from __future__ import annotations

import asyncio
import sys
import time
from typing import Any

import httpx
import orjson

from bench.config import VAPI_SECRET
from bench.load import percentile
from bench.run import Bench
from bench.seed_rows import Learner
from bench.server import ROOT, Server
from bench.vapi_messages import signed, transcript
from schema.ids import encode

P99_LIMIT_MS = 250.0
KB_PER_SUBSCRIBER_LIMIT = 40.0


async def send_events(client: httpx.AsyncClient, learners: list[Learner], count: int,
                      rate: float, tag: str) -> int:
    """Post ``count`` transcript lines at ``rate`` per second, learner after learner."""
    failures = 0
    started = time.perf_counter()
    pending: list[asyncio.Task[httpx.Response]] = []
    for i in range(count):
        await asyncio.sleep(max(0.0, started + i / rate - time.perf_counter()))
        text = f"Tell me about your weekend. [{tag} {i}] [t={time.time_ns()}]"
        body, headers = signed(VAPI_SECRET, transcript(learners[i % len(learners)],
                                                       role="assistant", text=text, final=False))
        pending.append(asyncio.create_task(client.post("/webhooks/vapi", content=body,
                                                       headers=headers)))
    for response in await asyncio.gather(*pending):
        failures += response.status_code != 200
    return failures


async def read_line(proc: asyncio.subprocess.Process, kind: str, timeout_s: float
                    ) -> dict[str, Any]:
    """The subscriber process's next report, which must be ``kind``."""
    assert proc.stdout is not None
    line = await asyncio.wait_for(proc.stdout.readline(), timeout_s)
    if not line:
        raise RuntimeError(f"subscriber process ended before reporting {kind}")
    report: dict[str, Any] = orjson.loads(line)
    if report["kind"] != kind:
        raise RuntimeError(f"expected {kind}, got {report}")
    return report


def plan(bench: Bench, url: str) -> dict[str, Any]:
    cfg, learners = bench.config, bench.seeded.in_progress
    subscribers = []
    for i in range(cfg.subscribers):
        learner = learners[i % len(learners)]
        follows_call = (i // len(learners)) % 2 == 0
        subscribers.append({
            "token": bench.token(learner),
            "call_id": encode("Call", learner.live_call_id) if follows_call else None,
        })
    return {"url": url.replace("http://", "ws://") + "/graphql", "subscribers": subscribers,
            "warm_events": 1, "run_events": cfg.events // len(learners),
            "timeout_s": cfg.delivery_timeout_s}


async def warm_up(client: httpx.AsyncClient, bench: Bench, server: Server) -> None:
    """One subscriber, one event, then gone: the server has imported and cached what a
    subscription needs before memory is measured."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.subscribers", cwd=ROOT, stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE)
    one = {**plan(bench, server.url), "warm_events": 1, "run_events": 0}
    one["subscribers"] = one["subscribers"][:1]
    assert proc.stdin is not None
    proc.stdin.write(orjson.dumps(one) + b"\n")
    await read_line(proc, "ready", 60)
    await send_events(client, bench.seeded.in_progress[:1], 1, 10, "warm")
    await read_line(proc, "warm", bench.config.delivery_timeout_s + 5)
    proc.stdin.write(b"go\n")
    await read_line(proc, "run", 10)
    await read_line(proc, "result", 10)
    await proc.wait()


async def run(bench: Bench) -> None:
    cfg, report, learners = bench.config, bench.report, bench.seeded.in_progress
    if cfg.events % len(learners):
        raise ValueError("events must be a multiple of fanout_learners")
    server = await bench.service("service-fanout", WORKER_ENABLED="1")
    proc = None
    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=60) as client:
            await warm_up(client, bench, server)
            await asyncio.sleep(cfg.settle_s / 2)
            rss_before = server.rss_bytes()
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bench.subscribers", cwd=ROOT,
                stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, limit=2**26)
            assert proc.stdin is not None
            proc.stdin.write(orjson.dumps(plan(bench, server.url)) + b"\n")
            started = time.perf_counter()
            ready = await read_line(proc, "ready", 300)
            connect_s = time.perf_counter() - started
            await send_events(client, learners, len(learners), cfg.event_rate, "warm")
            warm = await read_line(proc, "warm", cfg.delivery_timeout_s + 10)
            await asyncio.sleep(cfg.settle_s)
            rss_idle = server.rss_bytes()
            proc.stdin.write(b"go\n")
            failures = await send_events(client, learners, cfg.events, cfg.event_rate, "run")
            await read_line(proc, "run", cfg.delivery_timeout_s + 10)
            result = await read_line(proc, "result", 60)
    finally:
        if proc is not None and proc.returncode is None:
            proc.kill()
            await proc.wait()
        server.stop()
    connected = ready["connected"]
    latencies = result["latencies_ms"]
    expected = connected * (cfg.events // len(learners))
    kb = (rss_idle - rss_before) / 1024 / max(1, connected)
    p50, p99 = percentile(latencies, 0.5), percentile(latencies, 0.99)
    report.table(
        f"5. Subscription fan-out: {connected:,} subscribers over {len(learners)} learners, "
        f"{cfg.events} events at {cfg.event_rate:.0f}/s through the VAPI webhook",
        ["deliveries", "p50 ms", "p99 ms", "max ms", "RSS before", "RSS idle", "KB/subscriber",
         "connect s"],
        [[f"{len(latencies):,}/{expected:,}", f"{p50:.1f}", f"{p99:.1f}",
          f"{max(latencies, default=float('nan')):.1f}", f"{rss_before / 2**20:.0f} MB",
          f"{rss_idle / 2**20:.0f} MB", f"{kb:.1f}", f"{connect_s:.1f}"]])
    report.details["fanout"] = {
        "subscribers": connected, "failed_to_connect": ready["failed"],
        "warm_complete": warm["complete"], "deliveries": len(latencies), "expected": expected,
        "webhook_failures": failures, "p50_ms": round(p50, 2), "p99_ms": round(p99, 2),
        "rss_before_bytes": rss_before, "rss_idle_bytes": rss_idle,
        "kb_per_idle_subscriber": round(kb, 2), "connect_seconds": round(connect_s, 1),
        "subscriber_errors": result["errors"], "subscriber_error_count": result["error_count"],
    }
    complete = len(latencies) == expected and connected == cfg.subscribers
    report.target("5a", "fan-out delivery latency p99 (p50)",
                  f"{p99:.0f} ms ({p50:.0f} ms), {len(latencies):,}/{expected:,} delivered",
                  f"< {P99_LIMIT_MS:.0f} ms, all delivered", p99 < P99_LIMIT_MS and complete)
    report.target("5b", "resident memory per idle subscriber", f"{kb:.1f} KB",
                  f"< {KB_PER_SUBSCRIBER_LIMIT:.0f} KB", kb < KB_PER_SUBSCRIBER_LIMIT)
