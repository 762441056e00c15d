"""Objection and restriction: what the learner stops, Claude (the twin) never sees."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx

from db.models.ops import Job
from domain.analysis_run import ANALYZE_JOB
from domain.clock import ManualClock
from main import Runtime
from schema.ids import decode_uuid
from tests.analysis_harness import (
    analysis_of,
    finished_call,
    queue_faults,
    quiesce,
    requests_mentioning,
)
from tests.calls_harness import new_learner, start_call
from tests.conftest import gql, register
from tests.privacy_harness import eventually, requests_of

OBJECT = """
mutation($analysis: Boolean, $improve: Boolean) {
  setProcessingObjections(analysis: $analysis, serviceImprovement: $improve) {
    __typename
    ... on PrivacySettings { objectsToAnalysis objectsToServiceImprovement processingRestricted }
    ... on SetProcessingObjectionsError { code field message }
} }"""
RESTRICT = """
mutation($restricted: Boolean!, $reason: String) {
  setProcessingRestriction(restricted: $restricted, reason: $reason) {
    __typename
    ... on PrivacySettings { objectsToAnalysis processingRestricted }
    ... on SetProcessingRestrictionError { code field message }
} }"""
SETTINGS = "{ privacySettings { objectsToAnalysis objectsToServiceImprovement " \
    "processingRestricted jurisdiction } }"


def lines(marker: str) -> list[tuple[str, str, float, float]]:
    return [
        ("coach", "Hello! What did you do yesterday?", 0.0, 3.0),
        ("learner", f"I went to the {marker} library and read a long novel about sailing.",
         3.5, 12.0),
        ("coach", "Lovely. Tell me more.", 12.5, 14.0),
        ("learner", f"The {marker} novel describes a storm near Cape Horn in great detail.",
         14.5, 24.0),
    ]


async def test_objection_to_analysis_stops_every_claude_request(
    client: httpx.AsyncClient, runtime: Runtime,
) -> None:
    # given: a learner who objects to analysis
    learner = await new_learner(client, runtime, balance=1000)
    objected = (await gql(client, OBJECT, {"analysis": True}))["data"][
        "setProcessingObjections"]
    assert objected == {"__typename": "PrivacySettings", "objectsToAnalysis": True,
                        "objectsToServiceImprovement": False, "processingRestricted": False}

    # when: a call with a real conversation ends
    marker = f"objected{uuid.uuid4().hex[:8]}"
    call_id = await finished_call(client, runtime, learner, lines(marker))
    await runtime.worker.drain()

    # then: nothing was sent to Claude, nor queued for it, and no analysis exists
    call_uuid = str(decode_uuid(call_id, "Call"))
    assert not await Job.filter(kind=ANALYZE_JOB, payload={"call_id": call_uuid}).exists()
    assert await requests_mentioning(client, marker) == []
    assert await analysis_of(client, call_id) is None
    objection = (await requests_of(client))[0]
    assert (objection["kind"], objection["status"]) == ("OBJECTION", "COMPLETED")
    assert objection["auditTrail"][-1]["details"] == {
        "analysis": True, "jobsCancelled": 0, "analysesSkipped": 0}


async def test_objection_cancels_an_analysis_waiting_to_retry(
    client: httpx.AsyncClient, runtime: Runtime, clock: ManualClock,
) -> None:
    # given: an analysis whose first attempt was turned away and waits 10 minutes to retry
    await quiesce(runtime)  # (moves the clock past other tests' retries: sign in after it)
    learner = await new_learner(client, runtime, balance=1000)
    await queue_faults(client, {"status": 529, "retry_after": 600})
    marker = f"retrying{uuid.uuid4().hex[:8]}"
    call_id = await finished_call(client, runtime, learner, lines(marker))
    call_uuid = str(decode_uuid(call_id, "Call"))

    async def waiting() -> Job | None:
        return await Job.filter(kind=ANALYZE_JOB, status="queued", attempts=1, payload={
            "call_id": call_uuid}).first()

    await eventually(waiting, what="the analysis to wait for its retry")
    assert len(await requests_mentioning(client, marker)) == 1

    # when
    await gql(client, OBJECT, {"analysis": True})
    clock.advance(timedelta(minutes=11))
    try:
        await runtime.worker.drain()
    finally:
        clock.advance(-timedelta(minutes=11))

    # then: the retry never reached Claude
    assert len(await requests_mentioning(client, marker)) == 1
    job = await Job.filter(kind=ANALYZE_JOB, payload={"call_id": call_uuid}).get()
    assert (job.status, job.last_error) == (
        "cancelled", "cancelled: learner objected to analysis")
    analysis = await analysis_of(client, call_id)
    assert analysis is not None and analysis["status"] == "SKIPPED"


async def test_objection_needs_something_to_object_to(client: httpx.AsyncClient) -> None:
    await register(client)

    refused = (await gql(client, OBJECT))["data"]["setProcessingObjections"]

    assert refused == {
        "__typename": "SetProcessingObjectionsError", "code": "NOTHING_TO_CHANGE", "field": None,
        "message": "Say which processing you object to (analysis, serviceImprovement)."}
    assert await requests_of(client) == []


async def test_restriction_freezes_calls_until_lifted(
    client: httpx.AsyncClient, runtime: Runtime,
) -> None:
    # given
    await new_learner(client, runtime, balance=1000)

    # when
    restricted = (await gql(client, RESTRICT, {"restricted": True,
                                               "reason": "My level is wrong."}))["data"][
        "setProcessingRestriction"]
    refused = await start_call(client)

    # then
    assert restricted == {"__typename": "PrivacySettings", "objectsToAnalysis": False,
                          "processingRestricted": True}
    assert (refused["__typename"], refused["code"]) == ("StartCallError",
                                                        "PROCESSING_RESTRICTED")
    request = (await requests_of(client))[0]
    assert (request["kind"], request["status"]) == ("RESTRICTION", "IN_PROGRESS")

    # when: lifted
    lifted = (await gql(client, RESTRICT, {"restricted": False}))["data"][
        "setProcessingRestriction"]
    after = await start_call(client)

    # then
    assert lifted["processingRestricted"] is False
    assert after["__typename"] == "Call"
    request = (await requests_of(client))[0]
    assert (request["kind"], request["status"]) == ("RESTRICTION", "COMPLETED")
    assert [s["action"] for s in request["auditTrail"]] == [
        "request.received", "restriction.applied", "restriction.in_force", "restriction.lifted"]
    settings: dict[str, Any] = (await gql(client, SETTINGS))["data"]["privacySettings"]
    assert settings == {"objectsToAnalysis": False, "objectsToServiceImprovement": False,
                        "processingRestricted": False, "jurisdiction": "GDPR"}


async def test_settings_need_sign_in(new_client: Callable[[], httpx.AsyncClient]) -> None:
    async with new_client() as anonymous:
        body = await gql(anonymous, OBJECT, {"analysis": True}, expect_errors=True)
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
