"""Profile the service under one benchmark's load with py-spy, and summarise where time goes.

    .venv/bin/python -m bench.profile dashboard --seconds 10
    .venv/bin/python -m bench.profile progress|webhooks

Seeds a scratch database, starts the service, drives the benchmark's load while ``py-spy
record`` samples the server process (idle time excluded), then prints the functions with the
most samples, inclusive and self, and writes the collapsed stacks (flamegraph input) and a
speedscope file under ``bench/results/``.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import subprocess
import sys
import tempfile
from pathlib import Path

from bench import database, load, queries
from bench.config import BenchConfig
from bench.dashboard import graphql_sender
from bench.report import Report
from bench.run import Bench
from bench.seed import SeedPlan, seed
from bench.webhooks import webhook_sender

RESULTS = Path("bench/results")


def summarise(collapsed: Path, top: int = 30) -> str:
    """Top frames by inclusive and by self samples from py-spy's raw (collapsed) output."""
    inclusive: collections.Counter[str] = collections.Counter()
    own: collections.Counter[str] = collections.Counter()
    total = 0
    for line in collapsed.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        n = int(count)
        frames = [f.split(" (")[0] + " (" + f.split(" (")[-1] if " (" in f else f
                  for f in stack.split(";")[1:]]
        total += n
        for frame in set(frames):
            inclusive[frame] += n
        if frames:
            own[frames[-1]] += n
    lines = [f"{total} samples", "", "inclusive:"]
    lines += [f"{100 * n / total:5.1f}%  {f}" for f, n in inclusive.most_common(top)]
    lines += ["", "self:"]
    lines += [f"{100 * n / total:5.1f}%  {f}" for f, n in own.most_common(top)]
    return "\n".join(lines)


def record(pid: int, seconds: float, out: Path, fmt: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [str(Path(sys.executable).parent / "py-spy"), "record", "--pid", str(pid),
         "--duration", str(int(seconds)), "--rate", "200", "--format", fmt, "--output", str(out),
         "--nonblocking"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )


async def profile(kind: str, seconds: float, admin_url: str) -> None:
    config = BenchConfig(admin_url=admin_url)
    async with database.scratch_database(admin_url) as url:
        seeded = await seed(url, SeedPlan(webhook_learners=64 if kind == "webhooks" else 0,
                                          fanout_learners=0))
        bench = Bench(config=config, database_url=url, seeded=seeded,
                      log_dir=Path(tempfile.mkdtemp(prefix="cf-profile-")),
                      report=Report(config={}))
        learner = seeded.history[config.dashboard_learner]
        if kind == "webhooks":
            server = await bench.service("service-profile", WORKER_ENABLED="1")
            send, concurrency = webhook_sender(seeded.ringing, 32, None), 32
        else:
            server = await bench.service("service-profile", WORKER_ENABLED="0")
            document = queries.DASHBOARD if kind == "dashboard" else queries.PROGRESS_MONTH
            send = graphql_sender(document, bench.bearer(learner))
            concurrency = 8 if kind == "dashboard" else 1
        raw, speedscope = RESULTS / f"profile-{kind}.txt", RESULTS / f"profile-{kind}.speedscope"
        try:
            await load.run_for("warm-up", send, base_url=server.url, concurrency=concurrency,
                               seconds=1.0)
            spies = [record(server.pid, seconds, raw, "raw"),
                     record(server.pid, seconds, speedscope, "speedscope")]
            result = await load.run_for(kind, send, base_url=server.url,
                                        concurrency=concurrency, seconds=seconds + 1)
            for spy in spies:
                spy.wait(timeout=60)
        finally:
            server.stop()
    print(f"{kind}: {result.rps:.0f} req/s, p50 {result.p50_ms:.1f} ms, p99 {result.p99_ms:.1f}")
    print(summarise(raw))
    print(f"\ncollapsed stacks: {raw}   speedscope: {speedscope}")


def main() -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    parser = argparse.ArgumentParser(prog="python -m bench.profile")
    parser.add_argument("kind", choices=("dashboard", "progress", "webhooks"))
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--admin-url", default=database.DEFAULT_ADMIN_URL)
    args = parser.parse_args()
    asyncio.run(profile(args.kind, args.seconds, args.admin_url))


if __name__ == "__main__":
    main()
