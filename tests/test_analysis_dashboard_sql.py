"""The dashboard query runs a constant number of SQL statements, whatever the history length.

Learners' histories are seeded as the service would build them: ended calls with transcripts,
analysed by the real ``analyze`` handler behind a fake analyzer (no HTTP), so the pre-aggregated
progress rows, corrections and level history are exactly what production writes.
"""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import httpx

from db.models.calls import Call, TranscriptTurn
from db.models.topics import Topic
from domain.analysis import AnalysisPrompt, ModelAnswer
from domain.analysis_run import ANALYZE_JOB, AnalyzeCall
from domain.jobs import JobRun
from main import Runtime
from tests.calls_harness import new_learner
from tests.conftest import gql
from tests.sql_counter import count_sql

DASHBOARD = """{
  me { id fullName timezone balance { amountMinor currency } }
  calls(first: 50) { edges { node {
    id status startedAt durationSeconds topic { id title }
    analysis { status grammar vocabulary fluency pronunciation cefrLevel
               corrections { original corrected category } }
  } } }
  progress(granularity: WEEK) {
    periodStart currentStreakDays currentLevel levelUnderReview
    buckets { localDate calls minutes averageGrammar averageFluency }
    totals { calls minutes averageGrammar }
    topics { topic { title } calls }
    levelHistory { at cefrLevel reason analysis { id cefrLevel } }
  }
  mistakes(first: 10) { edges { node { original corrected category } } }
}"""
LEVELS = ("A2", "B1", "B2", "B1", "C1")


class FakeAnalyzer:
    """A deterministic analyzer: the level cycles so the learner's level keeps changing."""

    def __init__(self) -> None:
        self.counter = itertools.count()

    @property
    def model(self) -> str:
        return "fake-claude"

    async def analyze(self, prompt: AnalysisPrompt) -> ModelAnswer:
        n = next(self.counter)
        return ModelAnswer(model=self.model, data={
            "grammar": 40 + n % 50, "vocabulary": 50, "fluency": 60, "pronunciation": 55,
            "cefrLevel": LEVELS[n // 3 % len(LEVELS)], "summary": "A good call.",
            "strengths": ["Clear answers."],
            "corrections": [
                {"original": "I goed", "corrected": "I went", "explanation": "Irregular verb.",
                 "category": "GRAMMAR"},
                {"original": "make a photo", "corrected": "take a photo",
                 "explanation": "Collocation.", "category": "VOCABULARY"},
            ],
            "vocabularySuggestions": [{"word": "rewarding", "meaning": "satisfying",
                                       "example": "It was rewarding."}],
            "nextFocus": "Irregular past tenses.",
        })


async def seed_history(runtime: Runtime, user_id: UUID, calls: int) -> None:
    """``calls`` analysed calls over the last 80 days, on three topics."""
    topics = await Topic.filter(active=True).order_by("slug").limit(3)
    now = runtime.services.clock.now()
    rows = [
        Call(user_id=user_id, topic_id=topics[i % 3].id, status="ended",
             requested_at=now - timedelta(minutes=i * 383),
             started_at=now - timedelta(minutes=i * 383),
             ended_at=now - timedelta(minutes=i * 383 - 2), duration_s=120, billable_s=120,
             charge_minor=40, max_duration_s=600)
        for i in range(calls)
    ]
    await Call.bulk_create(rows)
    created = await Call.filter(user_id=user_id).order_by("requested_at")
    await TranscriptTurn.bulk_create([
        TranscriptTurn(call_id=c.id, seq=seq, role=role, text=text, start_s=start, end_s=end)
        for c in created
        for seq, (role, text, start, end) in enumerate([
            ("coach", "What did you do yesterday?", 0.0, 2.0),
            ("learner", "Yesterday I goed to the park and I make a photo.", 3.0, 7.0),
        ], start=1)
    ])
    handler = AnalyzeCall(analyzer=FakeAnalyzer(), effects=runtime.services.effects,
                          clock=runtime.services.clock)
    for call in created:
        run = JobRun(job_id=0, kind=ANALYZE_JOB, attempt=1, max_attempts=5, now=now)
        await handler({"call_id": str(call.id)}, run)


async def dashboard(client: httpx.AsyncClient) -> tuple[dict[str, Any], list[str]]:
    with count_sql() as statements:
        body = await gql(client, DASHBOARD)
    return body["data"], statements.sql


async def test_dashboard_runs_the_same_few_statements_for_3_and_300_calls(
    client: httpx.AsyncClient, runtime: Runtime, new_client: Any
) -> None:
    # given a learner with 3 calls and one with 300
    small = await new_learner(client, runtime, balance=0)
    await seed_history(runtime, small.user_id, 3)
    async with new_client() as big_client:
        big = await new_learner(big_client, runtime, balance=0)
        await seed_history(runtime, big.user_id, 300)

        # when each loads the dashboard
        small_data, small_sql = await dashboard(client)
        big_data, big_sql = await dashboard(big_client)

    # then the data is all there ...
    assert len(small_data["calls"]["edges"]) == 3
    assert len(big_data["calls"]["edges"]) == 50
    assert all(e["node"]["analysis"]["status"] == "DONE" for e in big_data["calls"]["edges"])
    assert all(len(e["node"]["analysis"]["corrections"]) == 2
               for e in big_data["calls"]["edges"])
    start = datetime.fromisoformat(big_data["progress"]["periodStart"])
    assert big_data["progress"]["totals"]["calls"] == await Call.filter(
        user_id=big.user_id, started_at__gte=start).count()
    assert len(big_data["progress"]["topics"]) == 3
    assert len(big_data["progress"]["levelHistory"]) > 10
    assert len(big_data["mistakes"]["edges"]) == 10

    # ... and the statements are the same in number and kind, batched per field
    assert len(big_sql) == len(small_sql), (small_sql, big_sql)
    assert len(big_sql) <= 12, big_sql
    assert len([s for s in big_sql if '"analyses"' in s]) <= 2, big_sql
    assert len([s for s in big_sql if '"corrections"' in s]) == 2, big_sql
