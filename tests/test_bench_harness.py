"""The benchmark harness runs end to end (``python -m bench --smoke``): it measures nothing here.

Every benchmark runs for about a second on a tiny dataset in its own scratch database and real
uvicorn processes, so a change that breaks the harness (a schema rename the dashboard query
uses, a seed column that no longer exists, a baseline answering different JSON) fails CI rather
than the next person who wants figures. No timing is asserted.
"""

from __future__ import annotations

import os

import pytest

from bench.config import smoke
from bench.run import run

pytestmark = [pytest.mark.slow, pytest.mark.postgres_only]


async def test_every_benchmark_runs_and_reports_its_targets() -> None:
    # given the smoke configuration against this run's PostgreSQL server
    admin_url = os.environ["DATABASE_URL"]

    # when every benchmark runs for about a second
    report = await run(smoke(admin_url))

    # then each reported its figures, against targets, with nothing lost on the way
    assert [t.benchmark for t in report.targets] == ["1", "3", "2", "4a", "4b", "5a", "5b"]
    details = report.details
    assert details["dashboard"]["same_json"] is True, details["dashboard"]["differs_at"]
    assert details["dashboard"]["graphql"]["errors"] == 0
    assert details["dashboard"]["baseline"]["errors"] == 0
    counts = {n for sample in details["statements"].values() for n in sample}
    assert len(counts) == 1, details["statements"]
    assert details["webhooks"]["service"]["errors"] == 0
    assert set(details["webhooks"]["outcomes"]) == {"applied"}
    assert details["fanout"]["deliveries"] == details["fanout"]["expected"] > 0
    assert details["fanout"]["webhook_failures"] == 0
