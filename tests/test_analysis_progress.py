"""`progress` buckets in the learner's timezone (across a day and week boundary, and after a
timezone change), the streak, and `mistakes` as a newest-first connection."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from db.models.topics import Topic
from main import Runtime
from schema.ids import encode
from tests.analysis_harness import (
    POOR,
    RICH,
    Line,
    finished_call,
    object_to_analysis,
    wait_for_analysis,
)
from tests.calls_harness import new_learner
from tests.conftest import gql

PROGRESS = """
query($from: DateTime, $to: DateTime, $granularity: ProgressGranularity!) {
  progress(from: $from, to: $to, granularity: $granularity) {
    timezone granularity periodStart periodEnd currentStreakDays currentLevel
    buckets { localDate start end calls minutes analyzedCalls
              averageGrammar averageVocabulary averageFluency averagePronunciation }
    totals { calls minutes analyzedCalls averageGrammar averageVocabulary averageFluency
             averagePronunciation }
    topics { topic { id title } calls minutes analyzedCalls averageGrammar }
  }
}"""
SET_TIMEZONE = """mutation($tz: String!) { updateProfile(input: {timezone: $tz}) {
  __typename ... on User { timezone } } }"""
MISTAKES = """
query($first: Int, $after: String, $category: MistakeCategory) {
  mistakes(first: $first, after: $after, category: $category) {
    edges { cursor node { original category callId at } }
    pageInfo { hasNextPage hasPreviousPage endCursor }
  }
}"""
SCORES = ("grammar", "vocabulary", "fluency", "pronunciation")


async def set_timezone(client: httpx.AsyncClient, tz: str) -> None:
    result = (await gql(client, SET_TIMEZONE, {"tz": tz}))["data"]["updateProfile"]
    assert result == {"__typename": "User", "timezone": tz}


async def progress(client: httpx.AsyncClient, **variables: Any) -> dict[str, Any]:
    found: dict[str, Any] = (await gql(client, PROGRESS, variables))["data"]["progress"]
    return found


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def averages(analyses: list[dict[str, Any]]) -> dict[str, float]:
    return {f"average{name.capitalize()}": round(sum(a[name] for a in analyses) / len(analyses), 1)
            for name in SCORES}


async def analysed_call(client: httpx.AsyncClient, runtime: Runtime, learner: Any,
                        lines: list[Line], at: datetime, topic: Topic | None) -> dict[str, Any]:
    call_id = await finished_call(client, runtime, learner, lines, started_at=at,
                                  topic_id=topic.id if topic else None)
    return await wait_for_analysis(client, call_id)


async def test_buckets_follow_the_learners_timezone_across_day_and_week_boundaries(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    # given a learner in Tokyo (UTC+9) with three calls on Sunday 1 March 2026 in UTC:
    # 23:30 Sunday in Tokyo, then 00:30 and 01:30 on Monday 2 March (a new ISO week) there
    learner = await new_learner(client, runtime, balance=0)
    await set_timezone(client, "Asia/Tokyo")
    topic = await Topic.filter(active=True).order_by("slug").first()
    assert topic is not None
    sunday = await analysed_call(client, runtime, learner, POOR, utc("2026-03-01T14:30"), topic)
    monday = [
        await analysed_call(client, runtime, learner, RICH, utc("2026-03-01T15:30"), topic),
        await analysed_call(client, runtime, learner, POOR, utc("2026-03-01T16:30"), None),
    ]

    # when asking for two Tokyo days
    days = await progress(client, **{"from": "2026-03-01T00:00:00+09:00",
                                     "to": "2026-03-03T00:00:00+09:00", "granularity": "DAY"})

    # then each call is in its Tokyo day (POOR lasts 16 s, RICH 97 s)
    assert (days["timezone"], days["granularity"]) == ("Asia/Tokyo", "DAY")
    assert (days["periodStart"], days["periodEnd"]) == ("2026-02-28T15:00:00+00:00",
                                                        "2026-03-02T15:00:00+00:00")
    assert days["buckets"] == [
        {"localDate": "2026-03-01", "start": "2026-02-28T15:00:00+00:00",
         "end": "2026-03-01T15:00:00+00:00", "calls": 1, "minutes": 0.27, "analyzedCalls": 1,
         **averages([sunday])},
        {"localDate": "2026-03-02", "start": "2026-03-01T15:00:00+00:00",
         "end": "2026-03-02T15:00:00+00:00", "calls": 2, "minutes": 1.88, "analyzedCalls": 2,
         **averages(monday)},
    ]
    assert days["totals"] == {"calls": 3, "minutes": 2.15, "analyzedCalls": 3,
                              **averages([sunday, *monday])}
    assert days["topics"] == [
        {"topic": {"id": encode("Topic", topic.id), "title": topic.title}, "calls": 2,
         "minutes": 1.88, "analyzedCalls": 2,
         "averageGrammar": averages([sunday, monday[0]])["averageGrammar"]},
        {"topic": None, "calls": 1, "minutes": 0.27, "analyzedCalls": 1,
         "averageGrammar": averages([monday[1]])["averageGrammar"]},
    ]

    # and in weeks, Sunday and Monday fall in different ISO weeks in Tokyo
    weeks = await progress(client, **{"from": "2026-02-23T00:00:00+09:00",
                                      "to": "2026-03-09T00:00:00+09:00", "granularity": "WEEK"})
    assert [(b["localDate"], b["calls"]) for b in weeks["buckets"]] == [("2026-02-23", 1),
                                                                       ("2026-03-02", 2)]

    # when the learner moves to UTC, the same calls are regrouped by UTC days
    await set_timezone(client, "UTC")
    utc_days = await progress(client, **{"from": "2026-03-01T00:00:00Z",
                                         "to": "2026-03-03T00:00:00Z", "granularity": "DAY"})
    assert [(b["localDate"], b["calls"], b["minutes"]) for b in utc_days["buckets"]] == [
        ("2026-03-01", 3, 2.15), ("2026-03-02", 0, 0.0)]
    assert utc_days["buckets"][1]["averageGrammar"] is None
    utc_weeks = await progress(client, **{"from": "2026-02-23T00:00:00Z",
                                          "to": "2026-03-09T00:00:00Z", "granularity": "WEEK"})
    assert [(b["localDate"], b["calls"]) for b in utc_weeks["buckets"]] == [("2026-02-23", 3),
                                                                           ("2026-03-02", 0)]

    # and months are calendar months
    months = await progress(client, **{"from": "2026-02-15T00:00:00Z",
                                       "to": "2026-03-15T00:00:00Z", "granularity": "MONTH"})
    assert [(b["localDate"], b["calls"]) for b in months["buckets"]] == [("2026-02-01", 0),
                                                                        ("2026-03-01", 3)]


async def test_streak_counts_consecutive_local_days_up_to_today(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    # given calls today, yesterday and three days ago in New York
    learner = await new_learner(client, runtime, balance=0)
    await set_timezone(client, "America/New_York")
    now = runtime.services.clock.now()
    for days_ago in (3, 1, 0):
        await analysed_call(client, runtime, learner, POOR, now - timedelta(days=days_ago), None)

    # when
    found = await progress(client, granularity="DAY")

    # then the last two days make the streak, and the default period is the last 30 days
    assert found["currentStreakDays"] == 2
    assert len(found["buckets"]) == 30
    assert [b["calls"] for b in found["buckets"]][-4:] == [1, 0, 1, 1]
    assert found["currentLevel"] == "A1"


async def test_calls_count_in_progress_even_when_not_analysed(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    # given a learner who objected to analysis, with an answered call today
    learner = await new_learner(client, runtime, balance=0)
    await object_to_analysis(client)
    call_id = await finished_call(client, runtime, learner, RICH,
                                  started_at=runtime.services.clock.now())

    # when
    found = await progress(client, granularity="DAY")

    # then the call counts as practice (97 s), with no scores, and no analysis exists
    assert found["totals"] == {"calls": 1, "minutes": 1.62, "analyzedCalls": 0,
                               "averageGrammar": None, "averageVocabulary": None,
                               "averageFluency": None, "averagePronunciation": None}
    assert found["currentStreakDays"] == 1
    call = (await gql(client, "query($id: ID!) { call(id: $id) { analysis { id } } }",
                      {"id": call_id}))["data"]["call"]
    assert call == {"analysis": None}


async def test_a_learner_without_calls_has_empty_progress(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    await new_learner(client, runtime, balance=0)

    found = await progress(client, granularity="MONTH")

    assert (found["currentStreakDays"], found["currentLevel"], found["topics"]) == (0, None, [])
    assert len(found["buckets"]) == 12
    assert found["totals"] == {"calls": 0, "minutes": 0.0, "analyzedCalls": 0,
                               "averageGrammar": None, "averageVocabulary": None,
                               "averageFluency": None, "averagePronunciation": None}


@pytest.mark.parametrize(("variables", "message", "field"), [
    pytest.param({"from": "2026-03-02T00:00:00Z", "to": "2026-03-01T00:00:00Z"},
                 "`from` must be before `to`.", "from", id="from-after-to"),
    pytest.param({"from": "2026-03-01T00:00:00", "to": "2026-03-02T00:00:00Z"},
                 "Give times with a UTC offset.", "from", id="naive-time"),
    pytest.param({"from": "2024-01-01T00:00:00Z", "to": "2026-01-01T00:00:00Z"},
                 "At most 366 day buckets at once: shorten the period or use a coarser "
                 "granularity.", "from", id="too-many-buckets"),
])
async def test_bad_periods_are_typed_errors(
    client: httpx.AsyncClient, runtime: Runtime, variables: dict[str, str], message: str,
    field: str,
) -> None:
    await new_learner(client, runtime, balance=0)

    body = await gql(client, PROGRESS, {**variables, "granularity": "DAY"}, expect_errors=True)

    assert body["data"] is None
    [error] = body["errors"]
    assert error["message"] == message
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": field}


async def test_progress_and_mistakes_need_sign_in(new_client: Any) -> None:
    async with new_client() as anonymous:
        for query, variables in ((PROGRESS, {"granularity": "DAY"}), (MISTAKES, {})):
            body = await gql(anonymous, query, variables, expect_errors=True)
            assert body["data"] is None
            assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_mistakes_newest_call_first_paginated_and_filtered(
    client: httpx.AsyncClient, runtime: Runtime, new_client: Any
) -> None:
    # given two weak calls a day apart (5 mistakes each: 4 GRAMMAR, then 1 FLUENCY)
    learner = await new_learner(client, runtime, balance=0)
    now = runtime.services.clock.now()
    older = await analysed_call(client, runtime, learner, POOR, now - timedelta(days=1), None)
    newer = await analysed_call(client, runtime, learner, POOR, now, None)
    expected = [(c["original"], a["callId"]) for a in (newer, older) for c in a["corrections"]]
    assert len(expected) == 10

    # when paging through three at a time
    seen: list[tuple[str, str]] = []
    after = None
    pages = 0
    while True:
        page = (await gql(client, MISTAKES, {"first": 3, "after": after}))["data"]["mistakes"]
        seen += [(e["node"]["original"], e["node"]["callId"]) for e in page["edges"]]
        assert page["pageInfo"]["hasPreviousPage"] is (after is not None)
        pages += 1
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]

    # then each mistake comes once, newest call first, in the analysis's order within a call
    assert (seen, pages) == (expected, 4)

    # and a category narrows the list
    fluency = (await gql(client, MISTAKES, {"category": "FLUENCY"}))["data"]["mistakes"]
    assert [(e["node"]["category"], e["node"]["callId"]) for e in fluency["edges"]] == [
        ("FLUENCY", newer["callId"]), ("FLUENCY", older["callId"])]

    # and another learner sees none of them
    async with new_client() as other:
        await new_learner(other, runtime, balance=0)
        assert (await gql(other, MISTAKES, {}))["data"]["mistakes"]["edges"] == []


@pytest.mark.parametrize(("variables", "message"), [
    pytest.param({"first": 0}, "`first` must be between 1 and 100.", id="first-zero"),
    pytest.param({"first": 101}, "`first` must be between 1 and 100.", id="first-too-big"),
    pytest.param({"after": "not-a-cursor"}, "Invalid cursor.", id="bad-cursor"),
])
async def test_bad_mistakes_arguments_are_typed_errors(
    client: httpx.AsyncClient, runtime: Runtime, variables: dict[str, Any], message: str
) -> None:
    await new_learner(client, runtime, balance=0)

    body = await gql(client, MISTAKES, variables, expect_errors=True)

    assert body["data"] is None
    assert [(e["message"], e["extensions"]["code"]) for e in body["errors"]] == [
        (message, "BAD_USER_INPUT")]
