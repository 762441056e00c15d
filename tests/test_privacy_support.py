"""Support access: audited reads with a reason, and the learner's view of them (`accessLog`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from db.models.privacy import AuditLog
from main import Runtime
from schema.ids import encode
from tests.analysis_harness import RICH, finished_call
from tests.calls_harness import new_learner
from tests.conftest import gql, register
from tests.privacy_harness import make_staff, wait_for_analysis

LOOKUP = """
query($email: String, $userId: ID, $reason: String!) {
  supportLookupLearner(email: $email, userId: $userId, reason: $reason) {
    __typename
    ... on SupportLearner { userId fullName email phone }
    ... on SupportAccessError { code field message }
} }"""
CALLS = """
query($userId: ID!, $reason: String!) { supportLearnerCalls(userId: $userId, reason: $reason) {
  __typename
  ... on SupportLearnerCalls { calls { callId status durationSeconds analysisStatus grammar } }
  ... on SupportAccessError { code field message }
} }"""
ACCESS_LOG = "{ accessLog { actorRole actorName action reason } }"


async def test_support_read_shows_up_in_the_learners_access_log(
    client: httpx.AsyncClient, new_client: Callable[[], httpx.AsyncClient], runtime: Runtime,
) -> None:
    # given: a learner with an analysed call, and a support agent
    learner = await new_learner(client, runtime, balance=1000, full_name="Lea Learner")
    call_id = await finished_call(client, runtime, learner, RICH)
    await wait_for_analysis(client, call_id)
    email = (await gql(client, "{ me { email } }"))["data"]["me"]["email"]
    user_gid = encode("User", learner.user_id)

    async with new_client() as support:
        await make_staff(support, "support")
        # when
        found = (await gql(support, LOOKUP, {"email": email.upper(),
                                             "reason": "Ticket 4411: calls drop"}))["data"][
            "supportLookupLearner"]
        calls = (await gql(support, CALLS, {"userId": user_gid,
                                            "reason": "Ticket 4411: check durations"}))["data"][
            "supportLearnerCalls"]

    # then
    assert found == {"__typename": "SupportLearner", "userId": user_gid,
                     "fullName": "Lea Learner", "email": email, "phone": learner.phone}
    assert calls["__typename"] == "SupportLearnerCalls"
    assert [c["callId"] for c in calls["calls"]] == [call_id]
    assert calls["calls"][0]["analysisStatus"] == "done"
    log = (await gql(client, ACCESS_LOG))["data"]["accessLog"]
    assert log == [
        {"actorRole": "support", "actorName": "Sam Support", "action": "support.read_calls",
         "reason": "Ticket 4411: check durations"},
        {"actorRole": "support", "actorName": "Sam Support", "action": "support.lookup_learner",
         "reason": "Ticket 4411: calls drop"},
    ]


async def test_support_read_without_a_reason_is_refused_and_not_logged(
    client: httpx.AsyncClient, new_client: Callable[[], httpx.AsyncClient],
) -> None:
    learner = await register(client)
    before = await AuditLog.all().count()
    async with new_client() as support:
        await make_staff(support, "support")

        refused = (await gql(support, LOOKUP, {"userId": learner["user"]["id"],
                                               "reason": "  hi "}))["data"][
            "supportLookupLearner"]
        neither = (await gql(support, LOOKUP, {"reason": "Ticket 1: help"}))["data"][
            "supportLookupLearner"]
        unknown = (await gql(support, LOOKUP, {"email": "nobody@example.com",
                                               "reason": "Ticket 2: help"}))["data"][
            "supportLookupLearner"]

    assert refused == {
        "__typename": "SupportAccessError", "code": "REASON_REQUIRED", "field": "reason",
        "message": "Give the reason for this access (5 to 500 characters); the learner can see "
        "it."}
    assert (neither["code"], unknown["code"]) == ("LEARNER_REQUIRED", "NOT_FOUND")
    assert await AuditLog.all().count() == before
    assert (await gql(client, ACCESS_LOG))["data"]["accessLog"] == []


@pytest.mark.parametrize("who", ["anonymous", "the_learner", "another_learner"])
async def test_only_staff_may_read_a_learner(
    who: str, client: httpx.AsyncClient, new_client: Callable[[], httpx.AsyncClient],
) -> None:
    learner = await register(client)
    variables: dict[str, Any] = {"userId": learner["user"]["id"], "reason": "Ticket 9: x"}
    async with new_client() as other:
        caller = client if who == "the_learner" else other
        if who == "another_learner":
            await register(other)
        lookup = await gql(caller, LOOKUP, variables, expect_errors=True)
        calls = await gql(caller, CALLS, variables, expect_errors=True)
    expected = "UNAUTHENTICATED" if who == "anonymous" else "FORBIDDEN"
    for body in (lookup, calls):
        assert body["data"] is None
        assert [e["extensions"]["code"] for e in body["errors"]] == [expected]
    assert (await gql(client, ACCESS_LOG))["data"]["accessLog"] == []
