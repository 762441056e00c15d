"""Benchmark 4: signed VAPI ``status-update`` and ``transcript`` deliveries at concurrency 32,
against an endpoint that only verifies the signature (bench/baseline_webhook.py).

Each sender owns its own calls and sends their messages in order (as VAPI does for one call),
so senders contend on the database and the service, not on one call's row lock. The service
runs as ``main.py serve`` does, job worker included, on PostgreSQL.
"""

from __future__ import annotations

import collections
import math

import orjson

from bench import load
from bench.config import VAPI_SECRET
from bench.http1 import Connection
from bench.load import Side
from bench.run import Bench
from bench.seed_rows import Learner
from bench.server import baseline_argv, free_port, start
from bench.vapi_messages import signed, stream

DELIVERIES_PER_S_TARGET = 1_000
RATIO_LIMIT = 3.0


def webhook_sender(learners: list[Learner], concurrency: int,
                   outcomes: collections.Counter[str] | None) -> load.RequestFn:
    """Sender ``i`` walks through ``learners[i::concurrency]``'s calls; ``outcomes`` counts
    what the service said it did (applied, duplicate, …)."""
    streams = [stream(learners[i::concurrency] or learners) for i in range(concurrency)]

    async def send(conn: Connection, worker: int, seq: int) -> bool:
        body, headers = signed(VAPI_SECRET, next(streams[worker]))
        response = await conn.request("POST", "/webhooks/vapi", headers, body)
        if outcomes is not None:
            answer = orjson.loads(response.content) if response.content else {}
            outcomes[answer.get("outcome", str(response.status_code))] += 1
        return response.status_code == 200

    return send


async def run(bench: Bench) -> None:
    cfg, report = bench.config, bench.report
    service = await bench.service("service-webhooks", workers=cfg.webhook_workers,
                                  WORKER_ENABLED="1")
    port = free_port()
    baseline = await start("baseline-webhook", baseline_argv("bench.baseline_webhook:app", port),
                           bench.env(), port, bench.log_dir)
    outcomes: collections.Counter[str] = collections.Counter()
    try:
        ours, theirs = await load.compare(
            Side("service /webhooks/vapi", service.url,
                 webhook_sender(bench.seeded.ringing, cfg.webhook_concurrency, outcomes),
                 service),
            Side("verify-only endpoint", baseline.url,
                 webhook_sender(bench.seeded.ringing, cfg.webhook_concurrency, None), baseline),
            concurrency=cfg.webhook_concurrency, seconds=cfg.seconds, rounds=cfg.rounds,
            warmup_s=cfg.warmup_s,
        )
    finally:
        baseline.stop()
        service.stop()
    ratio = theirs.rps / ours.rps if ours.rps else math.inf
    report.load_table(f"4. VAPI webhook deliveries, concurrency {cfg.webhook_concurrency} "
                      f"(service outcomes: {dict(outcomes)})", [ours, theirs])
    report.details["webhooks"] = {"service": ours.summary(), "baseline": theirs.summary(),
                                  "ratio": round(ratio, 2), "outcomes": dict(outcomes)}
    report.target("4a", "webhook deliveries/s (p99)",
                  f"{ours.rps:,.0f}/s (p99 {ours.p99_ms:.0f} ms)",
                  f"≥ {DELIVERIES_PER_S_TARGET:,}/s", ours.rps >= DELIVERIES_PER_S_TARGET)
    cpu = (ours.server_cpu_ms_per_request or 0.0, theirs.server_cpu_ms_per_request or 0.0)
    report.target("4b", "webhook: verify-only deliveries/s ÷ service deliveries/s",
                  f"{ratio:.2f}× ({ours.rps:,.0f} vs {theirs.rps:,.0f}/s; server CPU "
                  f"{cpu[0]:.2f} vs {cpu[1]:.2f} ms/delivery)", f"≤ {RATIO_LIMIT}×",
                  ratio <= RATIO_LIMIT)
