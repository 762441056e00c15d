"""Prometheus metrics: one ``Metrics`` object per app, served at ``/metrics``.

Other layers record through the small methods here rather than touching prometheus-client:

- ``observe_operation(name, outcome, seconds)``: every GraphQL operation (the schema
  extension in ``web/observe.py`` calls it).
- ``webhook_delivery(provider, outcome)``: each webhook we receive. ``web/webhook_metrics.py``
  already records every ``/webhooks/<provider>`` answer (``accepted``, ``rejected``,
  ``invalid``, ``failed``), so handlers need not call it.
- ``claude_request(model=, outcome=, seconds=, input_tokens=, output_tokens=, ...)``: each call
  to the Claude API; outcome is ``ok``, ``rate_limited``, ``overloaded``, ``timeout``, ``error``.
- ``ws_connected()`` / ``ws_disconnected()`` and ``subscription_started()`` /
  ``subscription_ended()``: live connections (``web/graphql.py`` calls them).

Job queue depth and age are not counted as they happen: ``/metrics`` reads the jobs table when it
is scraped (``refresh_jobs``), so they are right whichever process runs the workers.

With several uvicorn workers in one container set PROMETHEUS_MULTIPROC_DIR (an empty directory);
``render`` then merges every worker's numbers.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

MAX_OPERATION_NAMES = 500
_NAME = re.compile(r"^[_A-Za-z][_0-9A-Za-z]{0,63}$")
_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_CLAUDE_BUCKETS = (0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 40.0, 80.0, 160.0)


@dataclass(frozen=True, slots=True)
class QueueSnapshot:
    """Queued jobs of one kind when ``/metrics`` was scraped."""

    kind: str
    queued: int
    oldest_wait_s: float
    running: int
    dead: int


def _aware(value: object) -> datetime | None:
    """An aggregate over a timestamp column comes back as text on SQLite."""
    if value is None:
        return None
    when = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return when if when.tzinfo else when.replace(tzinfo=UTC)


class _JobQueueCollector(Collector):
    """Exposes the last snapshot taken by ``Metrics.refresh_jobs``."""

    def __init__(self) -> None:
        self.snapshot: list[QueueSnapshot] = []

    def collect(self) -> Iterator[GaugeMetricFamily]:
        depth = GaugeMetricFamily("cf_job_queue_depth", "Jobs waiting to run, by kind.",
                                  labels=["kind"])
        age = GaugeMetricFamily(
            "cf_job_queue_oldest_age_seconds",
            "How long the oldest due job of each kind has been waiting past its run_at.",
            labels=["kind"],
        )
        running = GaugeMetricFamily("cf_jobs_running", "Jobs being run, by kind.", labels=["kind"])
        dead = GaugeMetricFamily("cf_jobs_dead", "Jobs that gave up, by kind.", labels=["kind"])
        for row in self.snapshot:
            depth.add_metric([row.kind], row.queued)
            age.add_metric([row.kind], row.oldest_wait_s)
            running.add_metric([row.kind], row.running)
            dead.add_metric([row.kind], row.dead)
        yield from (depth, age, running, dead)


class Metrics:
    """Every series the service exposes, registered in its own registry."""

    def __init__(self, multiproc_dir: str | None = None) -> None:
        self.multiproc_dir = multiproc_dir
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter("cf_graphql_requests", "GraphQL operations by name and outcome.",
                                ["operation", "outcome"], registry=r)
        self.latency = Histogram(
            "cf_graphql_request_duration_seconds", "GraphQL operation latency by name and outcome.",
            ["operation", "outcome"], buckets=_LATENCY_BUCKETS, registry=r,
        )
        self.ws_connections = Gauge(
            "cf_websocket_connections", "Open GraphQL WebSocket connections.",
            registry=r, multiprocess_mode="livesum",
        )
        self.subscriptions = Gauge(
            "cf_graphql_active_subscriptions",
            "Operations running over WebSocket connections (subscriptions, mostly).",
            registry=r, multiprocess_mode="livesum",
        )
        self.webhooks = Counter(
            "cf_webhook_deliveries", "Webhook deliveries by provider and outcome.",
            ["provider", "outcome"], registry=r,
        )
        self.claude_latency = Histogram(
            "cf_claude_request_duration_seconds", "Claude API call latency by model and outcome.",
            ["model", "outcome"], buckets=_CLAUDE_BUCKETS, registry=r,
        )
        self.claude_tokens = Counter(
            "cf_claude_tokens", "Claude tokens by model and kind (input, output, cache_read, "
            "cache_write).", ["model", "kind"], registry=r,
        )
        self.rate_limited = Counter(
            "cf_rate_limited", "Requests refused by a rate limit, by bucket.", ["bucket"],
            registry=r,
        )
        self._jobs = _JobQueueCollector()
        r.register(self._jobs)
        self._names: set[str] = set()

    def _operation_label(self, name: str | None) -> str:
        """Operation names come from clients: keep valid ones, and a bounded number of them."""
        if not name:
            return "anonymous"
        if not _NAME.match(name):
            return "invalid"
        if name not in self._names:
            if len(self._names) >= MAX_OPERATION_NAMES:
                return "other"
            self._names.add(name)
        return name

    def observe_operation(self, name: str | None, outcome: str, seconds: float) -> None:
        label = self._operation_label(name)
        self.requests.labels(label, outcome).inc()
        self.latency.labels(label, outcome).observe(seconds)

    def webhook_delivery(self, provider: str, outcome: str) -> None:
        self.webhooks.labels(provider, outcome).inc()

    def claude_request(
        self, *, model: str, outcome: str, seconds: float, input_tokens: int = 0,
        output_tokens: int = 0, cache_read_tokens: int = 0, cache_write_tokens: int = 0,
    ) -> None:
        self.claude_latency.labels(model, outcome).observe(seconds)
        for kind, n in (("input", input_tokens), ("output", output_tokens),
                        ("cache_read", cache_read_tokens), ("cache_write", cache_write_tokens)):
            if n:
                self.claude_tokens.labels(model, kind).inc(n)

    def rate_limit_refused(self, bucket_kind: str) -> None:
        self.rate_limited.labels(bucket_kind).inc()

    def ws_connected(self) -> None:
        self.ws_connections.inc()

    def ws_disconnected(self) -> None:
        self.ws_connections.dec()

    def subscription_started(self) -> None:
        self.subscriptions.inc()

    def subscription_ended(self) -> None:
        self.subscriptions.dec()

    async def refresh_jobs(self, now: datetime) -> None:
        """Read queue depth and age from the jobs table (called just before rendering)."""
        from tortoise.functions import Count, Min

        from db.models.ops import Job  # the only DB read here, at scrape time

        counts = await (
            Job.filter(status__in=["queued", "running", "dead"])
            .annotate(n=Count("id")).group_by("kind", "status").values("kind", "status", "n")
        )
        due = await (
            Job.filter(status="queued", run_at__lte=now)
            .annotate(oldest=Min("run_at")).group_by("kind").values("kind", "oldest")
        )
        by_kind: dict[str, dict[str, float]] = {}
        for row in counts:
            s = by_kind.setdefault(row["kind"], {"queued": 0, "running": 0, "dead": 0, "wait": 0.0})
            s[row["status"]] = row["n"]
        for row in due:
            oldest = _aware(row["oldest"])
            if oldest is not None and row["kind"] in by_kind:
                by_kind[row["kind"]]["wait"] = max(0.0, (now - oldest).total_seconds())
        self._jobs.snapshot = [
            QueueSnapshot(kind=k, queued=int(v["queued"]), oldest_wait_s=v["wait"],
                          running=int(v["running"]), dead=int(v["dead"]))
            for k, v in sorted(by_kind.items())
        ]

    def render(self) -> bytes:
        """The text exposition of every series (merged across workers in multiprocess mode)."""
        if not self.multiproc_dir:
            return generate_latest(self.registry)
        from prometheus_client import multiprocess

        merged = CollectorRegistry()
        multiprocess.MultiProcessCollector(  # type: ignore[no-untyped-call]
            merged, path=self.multiproc_dir
        )
        merged.register(self._jobs)
        return generate_latest(merged)
