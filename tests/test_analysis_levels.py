"""The learner's level follows the median of their last 5 analyses, with a history saying why,
and can be contested (a privacy objection, KVKK Art. 11(g))."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from db.models.accounts import User
from db.models.privacy import PrivacyRequest
from main import Runtime
from tests.analysis_harness import POOR, RICH, finished_call, wait_for_analysis
from tests.calls_harness import new_learner
from tests.conftest import gql

LEVEL = """{ progress(granularity: MONTH) {
  currentLevel levelUnderReview
  levelHistory { at cefrLevel previousLevel reason analysis { id callId cefrLevel } }
} }"""
PRIVACY_REQUESTS = "{ privacyRequests { id kind status jurisdiction receivedAt dueAt } }"
CONTEST = """
mutation($reason: String!) { contestLevel(reason: $reason) {
  __typename
  ... on LevelContest { level underReview requestId receivedAt dueAt }
  ... on ContestLevelError { code field message }
} }"""


async def level_of(client: httpx.AsyncClient) -> dict[str, Any]:
    found: dict[str, Any] = (await gql(client, LEVEL))["data"]["progress"]
    return found


async def test_level_rises_after_a_run_of_better_calls_and_the_history_shows_why(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    # given three weak calls (A1 each), one hour apart
    learner = await new_learner(client, runtime, balance=0)
    start = runtime.services.clock.now() - timedelta(hours=7)
    analyses = []
    for i, lines in enumerate([POOR, POOR, POOR]):
        call_id = await finished_call(client, runtime, learner, lines,
                                      started_at=start + timedelta(hours=i))
        analyses.append(await wait_for_analysis(client, call_id))
    assert [a["cefrLevel"] for a in analyses] == ["A1", "A1", "A1"]
    assert (await level_of(client))["currentLevel"] == "A1"

    # when three strong calls (C1 each) follow
    for i, lines in enumerate([RICH, RICH, RICH], start=3):
        call_id = await finished_call(client, runtime, learner, lines,
                                      started_at=start + timedelta(hours=i))
        analyses.append(await wait_for_analysis(client, call_id))
        level = await level_of(client)
        # then the level holds while most of the last five are weak ...
        expected = "A1" if i < 5 else "C1"
        assert level["currentLevel"] == expected, (i, level)

    # ... and the history shows each change with the analysis that caused it and why
    assert [a["cefrLevel"] for a in analyses[3:]] == ["C1", "C1", "C1"]
    history = (await level_of(client))["levelHistory"]
    assert [(h["previousLevel"], h["cefrLevel"]) for h in history] == [(None, "A1"),
                                                                       ("A1", "C1")]
    assert history[0]["analysis"] == {k: analyses[0][k] for k in ("id", "callId", "cefrLevel")}
    assert history[0]["reason"] == (
        "The median level of your last analysed call (A1, newest first) is A1: "
        "moved from no level to A1."
    )
    assert history[1]["analysis"] == {k: analyses[5][k] for k in ("id", "callId", "cefrLevel")}
    assert history[1]["reason"] == (
        "The median level of your last 5 analysed calls (C1, C1, C1, A1, A1, newest first) "
        "is C1: moved from A1 to C1."
    )
    assert history[0]["at"] <= history[1]["at"]
    assert (await User.get(id=learner.user_id)).cefr_level == "C1"


async def test_contesting_the_level_flags_it_and_records_an_objection(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    # given a learner with an automated level
    learner = await new_learner(client, runtime, balance=0)
    call_id = await finished_call(client, runtime, learner, POOR)
    await wait_for_analysis(client, call_id)
    before = await level_of(client)
    assert (before["currentLevel"], before["levelUnderReview"]) == ("A1", False)

    # when they contest it
    result = (await gql(client, CONTEST, {"reason": "  I was ill that day;\nI speak better. "}))
    contest = result["data"]["contestLevel"]

    # then the level is under review and an objection request is recorded, due in 30 days
    assert contest["__typename"] == "LevelContest"
    assert (contest["level"], contest["underReview"]) == ("A1", True)
    requests = (await gql(client, PRIVACY_REQUESTS))["data"]["privacyRequests"]
    assert requests == [{
        "id": contest["requestId"], "kind": "OBJECTION", "status": "RECEIVED",
        "jurisdiction": "GDPR", "receivedAt": contest["receivedAt"], "dueAt": contest["dueAt"],
    }]
    received = datetime.fromisoformat(contest["receivedAt"])
    assert datetime.fromisoformat(contest["dueAt"]) - received == timedelta(days=30)
    [request] = await PrivacyRequest.filter(user_id=learner.user_id)
    assert request.details == {"subject": "cefr_level", "reason": "I was ill that day; I speak "
                               "better.", "level": "A1"}
    after = await level_of(client)
    assert (after["currentLevel"], after["levelUnderReview"]) == ("A1", True)

    # and automatic changes pause while a person reviews it
    for _ in range(3):
        await wait_for_analysis(client, await finished_call(client, runtime, learner, RICH))
    paused = await level_of(client)
    assert (paused["currentLevel"], len(paused["levelHistory"])) == ("A1", 1)

    # and contesting again is refused, changing nothing
    again = (await gql(client, CONTEST, {"reason": "Still wrong."}))["data"]["contestLevel"]
    assert again == {"__typename": "ContestLevelError", "code": "ALREADY_UNDER_REVIEW",
                     "field": None, "message": "Your level is already being reviewed by a person."}
    assert await PrivacyRequest.filter(user_id=learner.user_id).count() == 1


@pytest.mark.parametrize(("reason", "has_level", "expected"), [
    pytest.param("   ", True, {"code": "INVALID_REASON", "field": "reason",
                                "message": "Say why you disagree with your level, in 1 to 2000 "
                                "characters."}, id="blank-reason"),
    pytest.param("x" * 2001, True, {"code": "INVALID_REASON", "field": "reason",
                                    "message": "Say why you disagree with your level, in 1 to "
                                    "2000 characters."}, id="reason-too-long"),
    pytest.param("Wrong level.", False, {"code": "NO_LEVEL", "field": None,
                                         "message": "You have no level yet: it is set after your "
                                         "first analysed call."}, id="no-level-yet"),
])
async def test_contest_level_refusals_change_nothing(
    client: httpx.AsyncClient, runtime: Runtime, reason: str, has_level: bool,
    expected: dict[str, Any],
) -> None:
    # given
    learner = await new_learner(client, runtime, balance=0)
    if has_level:
        await wait_for_analysis(client, await finished_call(client, runtime, learner, POOR))

    # when
    result = (await gql(client, CONTEST, {"reason": reason}))["data"]["contestLevel"]

    # then
    assert result == {"__typename": "ContestLevelError", **expected}
    assert not (await User.get(id=learner.user_id)).level_under_review
    assert await PrivacyRequest.filter(user_id=learner.user_id).count() == 0


async def test_contest_level_needs_a_signed_in_learner(new_client: Any) -> None:
    async with new_client() as anonymous:
        body = await gql(anonymous, CONTEST, {"reason": "Wrong."}, expect_errors=True)
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
