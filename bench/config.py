"""How long and how hard each benchmark runs; ``full()`` is the documented run, ``smoke()`` the
one-second version the harness test uses."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from datetime import timedelta
from typing import Any

from bench.database import DEFAULT_ADMIN_URL
from domain.tokens import AccessTokens

BENCHMARKS = ("dashboard", "statements", "progress", "webhooks", "fanout")
JWT_SECRET = "bench-jwt-secret-" + "b" * 32
VAPI_SECRET = "bench-vapi-webhook-secret"


@dataclass(frozen=True, slots=True)
class BenchConfig:
    admin_url: str = DEFAULT_ADMIN_URL
    only: tuple[str, ...] = BENCHMARKS
    #: Throughput comparisons: seconds per side (split over ``rounds`` alternating rounds).
    seconds: float = 12.0
    rounds: int = 2
    warmup_s: float = 1.0
    history_sizes: tuple[int, ...] = (10, 100, 1_000, 10_000)
    #: 1. the dashboard at this concurrency, as the learner with this many calls.
    dashboard_concurrency: int = 8
    dashboard_learner: int = 10_000
    #: 2. dashboard requests per learner whose statements are counted.
    statement_samples: int = 5
    #: 3. sequential progress(MONTH) requests per learner, for this long each.
    progress_seconds: float = 4.0
    #: 4. webhook senders, and learners with a ringing call for them to talk about.
    webhook_concurrency: int = 32
    webhook_learners: int = 1_000
    webhook_workers: int = 1
    #: 5. subscribers spread evenly over learners each with a call in progress; events sent
    #: through the webhook at a steady rate, one learner after another.
    subscribers: int = 2_000
    fanout_learners: int = 100
    events: int = 100
    event_rate: float = 50.0
    delivery_timeout_s: float = 30.0
    #: Pause before reading the server's memory, so it is idle when measured.
    settle_s: float = 2.0

    def selected(self, name: str) -> bool:
        return name in self.only

    def summary(self) -> dict[str, Any]:
        data = asdict(self)
        data["admin_url"] = self.admin_url.rpartition("@")[2]
        return data


def full() -> BenchConfig:
    return BenchConfig()


def smoke(admin_url: str = DEFAULT_ADMIN_URL) -> BenchConfig:
    """Every benchmark for about a second on tiny data: proves the harness, measures nothing."""
    return replace(
        BenchConfig(admin_url=admin_url), seconds=0.5, rounds=1, warmup_s=0.1,
        history_sizes=(2, 5, 10, 20), dashboard_learner=20, statement_samples=2,
        progress_seconds=0.2, webhook_concurrency=4, webhook_learners=8, subscribers=10,
        fanout_learners=2, events=4, event_rate=50.0, delivery_timeout_s=15.0, settle_s=0.2,
    )


def tokens() -> AccessTokens:
    """Mints access tokens the services accept (they run with ``JWT_SECRET``)."""
    return AccessTokens(JWT_SECRET, timedelta(hours=2))
