"""One benchmark run: a scratch database, the seed, each selected benchmark against its own
server processes, the report. Every process and the database are gone when it returns."""

from __future__ import annotations

import logging
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bench import database
from bench.config import JWT_SECRET, VAPI_SECRET, BenchConfig, tokens
from bench.report import Report
from bench.seed import Seeded, SeedPlan, seed
from bench.seed_rows import Learner, utc_now
from bench.server import Server, free_port, service_argv, service_env, start

logger = logging.getLogger("bench")


@dataclass
class Bench:
    """What every benchmark gets: the configuration, the seeded database and the report."""

    config: BenchConfig
    database_url: str
    seeded: Seeded
    log_dir: Path
    report: Report

    def token(self, learner: Learner) -> str:
        return tokens().issue(user_id=learner.user_id, session_id=learner.session_id,
                              now=utc_now())

    def bearer(self, learner: Learner) -> dict[str, str]:
        return {"authorization": f"Bearer {self.token(learner)}"}

    def env(self, **extra: str) -> dict[str, str]:
        return service_env(self.database_url, JWT_SECRET, VAPI_WEBHOOK_SECRET=VAPI_SECRET, **extra)

    async def service(self, name: str, *, module: str | None = None, workers: int = 1,
                      **env: str) -> Server:
        """The service in its own uvicorn process (``main.py serve``, or ``module``)."""
        port = free_port()
        return await start(name, service_argv(port, module, workers), self.env(**env), port,
                           self.log_dir)



async def run(config: BenchConfig, *, log_dir: Path | None = None) -> Report:
    """Run the selected benchmarks; the report holds every figure and target."""
    from bench import dashboard, fanout, webhooks

    started = time.perf_counter()
    report = Report(config=config.summary())
    log_dir = log_dir or Path(tempfile.mkdtemp(prefix="cf-bench-"))
    plan = SeedPlan(
        history_sizes=config.history_sizes,
        webhook_learners=config.webhook_learners if config.selected("webhooks") else 0,
        fanout_learners=config.fanout_learners if config.selected("fanout") else 0,
    )
    async with database.scratch_database(config.admin_url) as url:
        seeded = await seed(url, plan)
        report.details["seed"] = {"seconds": round(seeded.seconds, 2), "rows": seeded.rows,
                                  "learners_by_calls": sorted(seeded.history)}
        bench = Bench(config=config, database_url=url, seeded=seeded, log_dir=log_dir,
                      report=report)
        logger.info("seeded %s rows in %.1f s", sum(seeded.rows.values()), seeded.seconds)
        if any(config.selected(n) for n in ("dashboard", "statements", "progress")):
            await dashboard.run(bench)
        if config.selected("webhooks"):
            await webhooks.run(bench)
        if config.selected("fanout"):
            await fanout.run(bench)
    report.details["logs"] = str(log_dir)
    report.seconds = time.perf_counter() - started
    return report
