"""A call's analysis end to end: VAPI twin or signed report → `analyze` job → Claude twin →
stored analysis and `AnalysisReady`, including every retry and failure rule."""

from __future__ import annotations

import json
import re
import uuid
from collections import Counter
from datetime import timedelta
from typing import Any

import httpx
from starlette.applications import Starlette

from db.models.ops import Job
from domain.analysis_run import queue_analysis
from domain.clock import ManualClock
from domain.uow import UnitOfWork
from main import Runtime
from schema.ids import decode_uuid, encode
from tests.analysis_harness import (
    POOR,
    RICH,
    SILENT,
    Line,
    analysis_of,
    claude_requests,
    clear_faults,
    finished_call,
    object_to_analysis,
    queue_faults,
    quiesce,
    requests_mentioning,
    user_text,
    wait_for_analysis,
)
from tests.calls_harness import new_learner, start_call, wait_for_call
from tests.conftest import gql
from tests.gql_ws import CALL_UPDATES, connect

SCORES = ("grammar", "vocabulary", "fluency", "pronunciation")
REANALYSE = """
mutation($callId: ID!) { requestReanalysis(callId: $callId) {
  __typename
  ... on Analysis { id status attempts statusReason }
  ... on RequestReanalysisError { code field message }
} }"""


def tagged(lines: list[Line], tag: str) -> list[Line]:
    """``lines`` plus a closing coach line carrying ``tag``, to find this call's requests."""
    end = max(e for *_, e in lines)
    return [*lines, ("coach", f"Thanks, see you soon. Session {tag}.", end + 0.5, end + 2.0)]


def answer_of(request: dict[str, Any]) -> dict[str, Any]:
    """The analysis JSON the twin answered a logged request with."""
    parsed: dict[str, Any] = json.loads(request["response"]["content"][0]["text"])
    return parsed


def expected_fields(answer: dict[str, Any]) -> dict[str, Any]:
    """What the stored analysis must say, given the twin's answer."""
    return {
        **{name: answer[name] for name in SCORES},
        "cefrLevel": answer["cefrLevel"],
        "summary": answer["summary"],
        "strengths": answer["strengths"],
        "nextFocus": answer["nextFocus"],
        "vocabularySuggestions": answer["vocabularySuggestions"],
        "corrections": [
            {k: c[k] for k in ("original", "corrected", "explanation", "category")}
            for c in answer["corrections"]
        ],
    }


def stored_fields(analysis: dict[str, Any]) -> dict[str, Any]:
    return {
        **{name: analysis[name] for name in (*SCORES, "cefrLevel", "summary", "strengths",
                                             "nextFocus", "vocabularySuggestions")},
        "corrections": [
            {k: c[k] for k in ("original", "corrected", "explanation", "category")}
            for c in analysis["corrections"]
        ],
    }


async def analysis_events(app: Starlette, client: httpx.AsyncClient, call_id: str,
                          count: int) -> list[dict[str, Any]]:
    """The call's logged events, replayed by `callUpdates(after: "0")`, up to ``count``
    AnalysisReady ones."""
    found: list[dict[str, Any]] = []
    async with connect(app, cookies=client.cookies) as conn:
        ack = await conn.init()
        assert ack["type"] == "connection_ack", ack
        op = await conn.subscribe(CALL_UPDATES, {"callId": call_id, "after": "0"})
        while sum(e["__typename"] == "AnalysisReady" for e in found) < count:
            payload = await conn.next_data(op)
            assert "errors" not in payload, payload
            found.append(payload["data"]["callUpdates"])
    return [e for e in found if e["__typename"] == "AnalysisReady"]


async def test_sandbox_call_produces_a_valid_analysis_and_an_analysis_ready_event(
    app: Starlette, client: httpx.AsyncClient, runtime: Runtime
) -> None:
    # given a learner with a unique first name (the coach greets them by it)
    first_name = f"Zed{uuid.uuid4().hex[:6]}"
    await new_learner(client, runtime, balance=2000, full_name=f"{first_name} Learner")

    # when the VAPI twin plays a whole answered call
    started = await start_call(client)
    assert started["__typename"] == "Call", started
    call = await wait_for_call(client, started["id"])
    analysis = await wait_for_analysis(client, started["id"])

    # then exactly one request reached the Claude twin, shaped as the prompt design says
    [request] = await requests_mentioning(client, f"Hi {first_name}!")
    body = request["body"]
    assert body["model"] == runtime.settings.anthropic_model == "claude-sonnet-4-6"
    [system] = body["system"]
    assert system["cache_control"] == {"type": "ephemeral"}
    assert "CEFR" in system["text"] and "COHERENCE" in system["text"]
    assert body["output_config"]["format"]["type"] == "json_schema"
    assert body["output_config"]["format"]["schema"]["additionalProperties"] is False
    text = user_text(request)
    assert "The learner's target level: B2" in text
    assert f"Topic: {call['topic']['title']}" in text if call["topic"] else "free conversation"
    learner_lines = [t["text"] for t in call["transcript"] if t["role"] == "LEARNER"]
    for line in learner_lines:
        assert f"LEARNER: {line}" in text

    # and the stored analysis is exactly the (valid) answer, with measured evidence
    assert analysis["status"] == "DONE"
    assert stored_fields(analysis) == expected_fields(answer_of(request))
    assert all(0 <= analysis[name] <= 100 for name in SCORES)
    assert analysis["cefrLevel"] in ("A1", "A2", "B1", "B2", "C1", "C2")
    assert {c["original"] for c in analysis["corrections"]} >= {"I goed", "we buyed"}
    assert all(c["callId"] == started["id"] for c in analysis["corrections"])
    assert (analysis["model"], analysis["promptVersion"]) == ("claude-sonnet-4-6",
                                                              "cefr-speaking-v1")
    assert (analysis["attempts"], analysis["statusReason"]) == (1, None)
    assert analysis["callId"] == started["id"]
    assert analysis["pronunciationBasis"] == "TRANSCRIPT_ESTIMATE"
    evidence = analysis["pronunciationEvidence"]
    words = sum(len(re.findall(r"[a-z0-9']+", line, re.I)) for line in learner_lines)
    assert evidence == {"learnerWords": words, "unclearMarkers": 0, "turnsWithConfidence": 0,
                        "meanConfidence": None, "lowConfidenceTurns": 0}
    assert analysis["pronunciationConfidence"] == round(0.6 * min(1, words / 150) * 0.5, 2)
    fluency = analysis["fluencyEvidence"]
    assert (fluency["learnerWords"], fluency["learnerTurns"], fluency["timedTurns"]) == (
        words, len(learner_lines), len(learner_lines))
    assert fluency["wordsPerMinute"] == round(words / (fluency["speakingSeconds"] / 60), 1)

    # and AnalysisReady is in the call's event log, once
    [event] = await analysis_events(app, client, started["id"], 1)
    assert event["analysisStatus"] == "done"
    assert event["cefrLevel"] == analysis["cefrLevel"]
    assert event["scores"] == {name: analysis[name] for name in SCORES}


async def test_fluency_and_pronunciation_evidence_come_from_the_turns(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    # given a transcript with a 4.5 s hesitation and a word the transcriber lost
    learner = await new_learner(client, runtime, balance=0)
    lines: list[Line] = [
        ("coach", "Where did you go on holiday last year?", 0.0, 3.0),
        ("learner", "I went to Lisbon with my family in August.", 7.5, 11.5),
        ("coach", "What did you like most?", 12.0, 13.5),
        ("learner", "The old trams and the [inaudible] near the river.", 14.0, 18.0),
    ]

    # when
    call_id = await finished_call(client, runtime, learner, lines)
    analysis = await wait_for_analysis(client, call_id)

    # then: 9 + 8 words over 4 + 4 timed seconds; pauses 4.5 s and 0.5 s before learner turns
    assert analysis["fluencyEvidence"] == {
        "learnerWords": 17, "learnerTurns": 2, "timedTurns": 2, "speakingSeconds": 8.0,
        "wordsPerMinute": 127.5, "longPauses": 1, "longestPauseSeconds": 4.5,
    }
    assert analysis["pronunciationEvidence"] == {
        "learnerWords": 17, "unclearMarkers": 1, "turnsWithConfidence": 0,
        "meanConfidence": None, "lowConfidenceTurns": 0,
    }
    # 0.6 * (17 / 150) * (1 - 1/2) * 0.5
    assert analysis["pronunciationConfidence"] == 0.02


async def test_objecting_learner_gets_no_claude_request_at_all(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    # given a learner who objected to analysis
    first_name = f"Obi{uuid.uuid4().hex[:6]}"
    await new_learner(client, runtime, balance=2000, full_name=f"{first_name} Jones")
    await object_to_analysis(client)

    # when a whole call is played, and an analysis job queued before the objection still runs
    started = await start_call(client)
    await wait_for_call(client, started["id"])
    call_id = decode_uuid(started["id"], "Call")
    async with UnitOfWork(runtime.services.effects) as uow:
        await queue_analysis(uow, call_id=call_id, now=runtime.services.clock.now())
    analysis = await wait_for_analysis(client, started["id"])

    # then nothing about this learner ever reached Claude
    await quiesce(runtime)
    assert await requests_mentioning(client, first_name) == []
    assert analysis["status"] == "SKIPPED"
    assert analysis["statusReason"] == "The learner objected to the analysis of their calls."
    assert [analysis[name] for name in (*SCORES, "cefrLevel", "summary")] == [None] * 6
    assert (analysis["attempts"], analysis["corrections"]) == (0, [])

    # and asking again is refused
    again = (await gql(client, REANALYSE, {"callId": started["id"]}))["data"]
    assert again["requestReanalysis"] == {
        "__typename": "RequestReanalysisError", "code": "ANALYSIS_OBJECTED", "field": None,
        "message": "You objected to the analysis of your calls, so none is made.",
    }


async def test_a_learner_who_never_spoke_is_not_analysed(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    # given
    learner = await new_learner(client, runtime, balance=0)
    tag = uuid.uuid4().hex
    call_id = await finished_call(client, runtime, learner, tagged(SILENT, tag))

    # when the analysis is queued anyway
    async with UnitOfWork(runtime.services.effects) as uow:
        await queue_analysis(uow, call_id=decode_uuid(call_id, "Call"),
                             now=runtime.services.clock.now())
    analysis = await wait_for_analysis(client, call_id)

    # then
    assert (analysis["status"], analysis["statusReason"]) == (
        "SKIPPED", "The learner did not speak during the call.")
    assert await requests_mentioning(client, tag) == []


async def test_overloaded_then_success_stores_one_analysis(
    app: Starlette, client: httpx.AsyncClient, runtime: Runtime, clock: ManualClock
) -> None:
    # given Claude answers the first request with 529 (no retry-after: our backoff applies)
    learner = await new_learner(client, runtime, balance=0)
    tag = uuid.uuid4().hex
    await quiesce(runtime)
    await queue_faults(client, {"status": 529})

    # when
    call_id = await finished_call(client, runtime, learner, tagged(POOR, tag))
    analysis = await wait_for_analysis(client, call_id, clock=clock)

    # then the retry succeeded and exactly one analysis, with its corrections once, is stored
    requests = await requests_mentioning(client, tag)
    assert [r["status"] for r in requests] == [529, 200]
    assert requests[0]["response"]["error"]["type"] == "overloaded_error"
    assert (analysis["status"], analysis["attempts"], analysis["statusReason"]) == ("DONE", 2,
                                                                                    None)
    assert stored_fields(analysis) == expected_fields(answer_of(requests[1]))
    assert len(analysis["corrections"]) == len(answer_of(requests[1])["corrections"]) == 5
    mistakes = await gql(client, "{ mistakes(first: 100) { edges { node { callId } } } }")
    assert Counter(e["node"]["callId"] for e in mistakes["data"]["mistakes"]["edges"]) == {
        call_id: 5}
    events = await analysis_events(app, client, call_id, 1)
    assert [e["analysisStatus"] for e in events] == ["done"]


async def test_rate_limit_waits_for_retry_after(
    client: httpx.AsyncClient, runtime: Runtime, clock: ManualClock
) -> None:
    # given a 429 asking us to come back in 30 s
    learner = await new_learner(client, runtime, balance=0)
    tag = uuid.uuid4().hex
    await quiesce(runtime)
    await queue_faults(client, {"status": 429, "retry_after": 30})

    # when
    call_id = await finished_call(client, runtime, learner, tagged(RICH, tag))
    pending = await wait_for_analysis(
        client, call_id, lambda a: bool(a and a["statusReason"] is not None)
    )

    # then the retry is scheduled at retry-after, not before
    assert (pending["status"], pending["attempts"], pending["statusReason"]) == (
        "PENDING", 1, "Claude rate limit (HTTP 429)")
    job = await Job.get(dedupe_key=f"analyze:{decode_uuid(call_id, 'Call')}")
    assert job.status == "queued"
    assert 29 <= (job.run_at - clock.now()).total_seconds() <= 30

    # and once it is due, the analysis is made
    clock.advance(timedelta(seconds=31))
    done = await wait_for_analysis(client, call_id)
    assert (done["status"], done["attempts"]) == ("DONE", 2)
    assert len(await requests_mentioning(client, tag)) == 2


async def test_spend_limit_is_not_retried(client: httpx.AsyncClient, runtime: Runtime) -> None:
    # given
    learner = await new_learner(client, runtime, balance=0)
    tag = uuid.uuid4().hex
    await quiesce(runtime)
    spend_limit = "You have reached your specified API usage spend limit."
    await queue_faults(client, {"status": 429, "retry_after": 0, "message": spend_limit})

    # when
    call_id = await finished_call(client, runtime, learner, tagged(RICH, tag))
    analysis = await wait_for_analysis(client, call_id)

    # then one request, and the analysis failed at once with the reason
    assert [r["status"] for r in await requests_mentioning(client, tag)] == [429]
    assert (analysis["status"], analysis["attempts"], analysis["statusReason"]) == (
        "FAILED", 1, "Claude spend limit reached (HTTP 429); not retried")
    assert [analysis[name] for name in SCORES] == [None] * 4


async def test_persistent_server_error_fails_and_reanalysis_recovers(
    app: Starlette, client: httpx.AsyncClient, runtime: Runtime, new_client: Any
) -> None:
    # given Claude fails every request with 500 (retry-after 0 keeps the test fast)
    learner = await new_learner(client, runtime, balance=0)
    tag = uuid.uuid4().hex
    await quiesce(runtime)
    await queue_faults(client, {"status": 500, "retry_after": 0, "repeat": True})
    try:
        # when
        call_id = await finished_call(client, runtime, learner, tagged(POOR, tag))
        failed = await wait_for_analysis(client, call_id)
    finally:
        await clear_faults(client)

    # then every attempt was made, and the analysis failed with the reason
    assert [r["status"] for r in await requests_mentioning(client, tag)] == [500] * 5
    assert (failed["status"], failed["attempts"]) == ("FAILED", 5)
    assert failed["statusReason"] == "Claude server error (HTTP 500) (gave up after 5 attempts)"
    assert failed["corrections"] == [] and failed["grammar"] is None
    [event] = await analysis_events(app, client, call_id, 1)
    assert (event["analysisStatus"], event["scores"], event["cefrLevel"]) == ("failed", None,
                                                                              None)

    # and another learner cannot ask for it again
    async with new_client() as other_client:
        await new_learner(other_client, runtime, balance=0)
        refused = (await gql(other_client, REANALYSE, {"callId": call_id}))["data"]
        assert refused["requestReanalysis"] == {
            "__typename": "RequestReanalysisError", "code": "NOT_FOUND", "field": "callId",
            "message": "No such call.",
        }
    assert (await analysis_of(client, call_id) or {})["status"] == "FAILED"

    # when the learner asks again
    requested = (await gql(client, REANALYSE, {"callId": call_id}))["data"]["requestReanalysis"]

    # then it is queued and made, still as the one analysis of the call
    assert requested == {"__typename": "Analysis", "id": failed["id"], "status": "PENDING",
                         "attempts": 5, "statusReason": None}
    done = await wait_for_analysis(client, call_id)
    assert (done["id"], done["status"], done["attempts"]) == (failed["id"], "DONE", 6)
    assert len(done["corrections"]) == 5
    events = await analysis_events(app, client, call_id, 2)
    assert [e["analysisStatus"] for e in events] == ["failed", "done"]

    # and a done analysis cannot be requested again
    again = (await gql(client, REANALYSE, {"callId": call_id}))["data"]["requestReanalysis"]
    assert again == {"__typename": "RequestReanalysisError", "code": "NOT_FAILED",
                     "field": "callId",
                     "message": "Only a failed analysis can be requested again."}


async def test_malformed_answers_are_retried_and_never_stored(
    client: httpx.AsyncClient, runtime: Runtime, clock: ManualClock
) -> None:
    # given three invalid answers in a row: out of range, prose around JSON, cut in half
    learner = await new_learner(client, runtime, balance=0)
    tag = uuid.uuid4().hex
    await quiesce(runtime)
    await queue_faults(client, {"malformed": "out_of_range"}, {"malformed": "prose"},
                       {"malformed": "missing_keys"})

    # when
    call_id = await finished_call(client, runtime, learner, tagged(RICH, tag))
    seen_reasons: list[str] = []

    def settled(found: dict[str, Any] | None) -> bool:
        if found and found["statusReason"] and found["statusReason"] not in seen_reasons:
            seen_reasons.append(found["statusReason"])
        return bool(found and found["status"] == "DONE")

    analysis = await wait_for_analysis(client, call_id, settled, clock=clock)

    # then the fourth, valid answer is what is stored
    requests = await requests_mentioning(client, tag)
    assert [r["status"] for r in requests] == [200, 200, 200, 200]
    assert (analysis["attempts"], analysis["statusReason"]) == (4, None)
    assert stored_fields(analysis) == expected_fields(answer_of(requests[3]))
    assert set(seen_reasons) <= {
        "grammar is 150, outside 0..100", "Claude's answer is not JSON",
        "the answer lacks cefrLevel, corrections",
    }


async def test_analysis_of_a_call_is_private(
    client: httpx.AsyncClient, runtime: Runtime, new_client: Any
) -> None:
    # given
    learner = await new_learner(client, runtime, balance=0)
    call_id = await finished_call(client, runtime, learner, RICH)
    await wait_for_analysis(client, call_id)
    query = "query($id: ID!) { call(id: $id) { analysis { id grammar } } }"

    # then another learner and an anonymous caller see nothing
    async with new_client() as other:
        await new_learner(other, runtime, balance=0)
        assert (await gql(other, query, {"id": call_id}))["data"] == {"call": None}
    async with new_client() as anonymous:
        body = await gql(anonymous, query, {"id": call_id}, expect_errors=True)
        assert body["data"] == {"call": None}
        assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
        refused = await gql(anonymous, REANALYSE, {"callId": call_id}, expect_errors=True)
        assert refused["data"] is None
        assert refused["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_garbage_call_id_is_a_typed_error(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    await new_learner(client, runtime, balance=0)
    for bad in ("nonsense", encode("Topic", uuid.uuid4()), encode("Call", uuid.uuid4())):
        result = (await gql(client, REANALYSE, {"callId": bad}))["data"]["requestReanalysis"]
        assert result == {"__typename": "RequestReanalysisError", "code": "NOT_FOUND",
                          "field": "callId", "message": "No such call."}


async def test_prompt_caching_reads_the_rubric_from_cache(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    # given two calls analysed one after the other
    learner = await new_learner(client, runtime, balance=0)
    tags = [uuid.uuid4().hex, uuid.uuid4().hex]
    for tag in tags:
        call_id = await finished_call(client, runtime, learner, tagged(RICH, tag))
        await wait_for_analysis(client, call_id)

    # then the second request read the static rubric from the prompt cache
    [second] = await requests_mentioning(client, tags[1])
    usage = second["response"]["usage"]
    assert usage["cache_read_input_tokens"] > 1000
    assert usage["cache_creation_input_tokens"] == 0
    assert len(await claude_requests(client)) >= 2
