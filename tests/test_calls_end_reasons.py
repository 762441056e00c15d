"""Every VAPI ``endedReason`` decided, checked against VAPI's own SDK (``vapi-server-sdk``)."""

from __future__ import annotations

import logging
import typing
from collections.abc import Iterator
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from vapi.types import CallEndedReason

from db.models.billing import LedgerEntry
from db.models.calls import Call
from db.models.ops import Job
from domain.calls_end_reasons import CONVERSATION, FAULT, UNREACHED
from main import Runtime
from tests.calls_harness import (
    balance_of,
    call_gid,
    get_call,
    new_learner,
    new_provider_id,
    post_vapi,
    report_message,
)
from webhooks.vapi import vapi_webhook_routes

SDK_REASONS = frozenset(typing.get_args(typing.get_args(CallEndedReason)[0]))


@asynccontextmanager
async def webhook_with(runtime: Runtime, **settings: Any) -> Any:
    """``/webhooks/vapi`` as ``main.create_app`` builds it, with other settings (price, plan),
    on the running service's database and outbox."""
    services = replace(runtime.services, settings=replace(runtime.settings, **settings))
    app = Starlette(routes=vapi_webhook_routes(services))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://testserver") as http:
        yield http


async def answered_call(runtime: Runtime, user_id: Any, *, max_duration_s: int = 600) -> Call:
    return await Call.create(
        user_id=user_id, status="in_progress", provider_call_id=new_provider_id(),
        requested_at=runtime.services.clock.now(), max_duration_s=max_duration_s,
    )


def test_every_sdk_ended_reason_is_decided_exactly_once() -> None:
    tables = {"conversation": CONVERSATION, "fault": FAULT, "unreached": UNREACHED}

    assert len(SDK_REASONS) > 500
    assert not CONVERSATION & FAULT and not CONVERSATION & UNREACHED and not FAULT & UNREACHED
    assert sorted(SDK_REASONS - (CONVERSATION | FAULT | UNREACHED)) == []
    assert sorted((CONVERSATION | FAULT | UNREACHED) - SDK_REASONS) == []
    # the carrier's own "completed" ends are normal hang-ups, whatever else they mention
    placed = {reason: name for name, table in tables.items() for reason in table}
    assert {r: placed[r] for r in (
        "call.in-progress.twilio-completed-call", "call.in-progress.sip-completed-call",
        "vonage-completed", "vonage-disconnected", "customer-ended-call",
        "assistant-ended-call", "exceeded-max-duration", "silence-timed-out",
        "pipeline-error-openai-llm-failed", "twilio-failed-to-connect-call",
        "customer-did-not-answer", "customer-busy", "voicemail",
    )} == {
        "call.in-progress.twilio-completed-call": "conversation",
        "call.in-progress.sip-completed-call": "conversation",
        "vonage-completed": "conversation",
        "vonage-disconnected": "conversation",
        "customer-ended-call": "conversation",
        "assistant-ended-call": "conversation",
        "exceeded-max-duration": "conversation",
        "silence-timed-out": "conversation",
        "pipeline-error-openai-llm-failed": "fault",
        "twilio-failed-to-connect-call": "fault",
        "customer-did-not-answer": "unreached",
        "customer-busy": "unreached",
        "voicemail": "unreached",
    }


async def test_an_answered_call_ended_by_the_carrier_is_billed_and_keeps_its_lesson(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    # given: an answered call, at 30 a minute
    learner = await new_learner(client, runtime, balance=600)
    call = await answered_call(runtime, learner.user_id)
    report = report_message(provider_call_id=call.provider_call_id or "", external_id=call.id,
                            seconds=120, ended_reason="call.in-progress.twilio-completed-call")
    report["artifact"]["recordingUrl"] = "https://storage.vapi.ai/rec.wav"

    # when
    async with webhook_with(runtime, price_per_minute_minor=30) as vapi:
        response = await post_vapi(vapi, runtime, report)

    # then: 120 s at 30 a minute is 60, with the transcript, recording and analysis kept
    assert (response.status_code, response.json()) == (200, {"received": True,
                                                             "outcome": "applied"})
    found = await get_call(client, call_gid(call.id))
    assert found is not None
    assert (found["status"], found["endedReason"], found["durationSeconds"],
            found["chargeMinor"]) == ("ENDED", "call.in-progress.twilio-completed-call", 120, 60)
    stored = await Call.get(id=call.id)  # (the report is dated January: its link has expired)
    assert stored.recording_url == "https://storage.vapi.ai/rec.wav"
    assert [(t["role"], t["text"]) for t in found["transcript"]] == [
        ("COACH", "Hello! Ready?"), ("LEARNER", "Yes, I am ready.")]
    assert await balance_of(client) == 540
    assert await Job.filter(kind="analyze", dedupe_key=f"analyze:{call.id}").count() == 1


@pytest.mark.parametrize(("reason", "charge", "kept"), [
    pytest.param("call.in-progress.sip-completed-call", 30, True, id="carrier-completed"),
    pytest.param("vonage-disconnected", 30, True, id="carrier-disconnected"),
    pytest.param("pipeline-error-openai-llm-failed", 0, True, id="pipeline-fault"),
    pytest.param("call.in-progress.error-vapifault-worker-died", 0, True, id="vapi-fault"),
    pytest.param("voicemail", 0, False, id="voicemail"),
])
async def test_each_kind_of_end_is_billed_and_kept_as_the_table_says(
    client: httpx.AsyncClient, runtime: Runtime, reason: str, charge: int, kept: bool
) -> None:
    assert reason in SDK_REASONS
    learner = await new_learner(client, runtime, balance=600)
    call = await answered_call(runtime, learner.user_id)

    response = await post_vapi(client, runtime, report_message(
        provider_call_id=call.provider_call_id or "", external_id=call.id, seconds=90,
        ended_reason=reason))

    assert response.status_code == 200
    found = await get_call(client, call_gid(call.id))
    assert found is not None
    assert (found["endedReason"], found["chargeMinor"]) == (reason, charge)
    assert len(found["transcript"]) == (2 if kept else 0)
    assert await Job.filter(dedupe_key=f"analyze:{call.id}").exists() is kept
    assert await balance_of(client) == 600 - charge


@pytest.fixture
def calls_log(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    with caplog.at_level(logging.WARNING, logger="callfluently.calls"):
        yield caplog


@pytest.mark.parametrize(("answered", "charge"), [(True, 30), (False, 0)])
async def test_an_unknown_future_reason_is_billed_only_if_answered_and_logged(
    client: httpx.AsyncClient, runtime: Runtime, calls_log: pytest.LogCaptureFixture,
    answered: bool, charge: int,
) -> None:
    reason = "call.in-progress.error-something-vapi-adds-next-year"
    assert reason not in SDK_REASONS
    learner = await new_learner(client, runtime, balance=600)
    call = await answered_call(runtime, learner.user_id)
    report = report_message(provider_call_id=call.provider_call_id or "", external_id=call.id,
                            seconds=90, ended_reason=reason)
    if not answered:
        for key in ("startedAt", "durationSeconds"):
            report.pop(key)

    response = await post_vapi(client, runtime, report)

    assert response.status_code == 200
    found = await get_call(client, call_gid(call.id))
    assert found is not None and found["chargeMinor"] == charge
    assert len(found["transcript"]) == (2 if answered else 0)
    warnings = [r for r in calls_log.records
                if r.getMessage() == "vapi ended reason not in our table"]
    assert [(r.levelno, r.ended_reason) for r in warnings] == [  # type: ignore[attr-defined]
        (logging.WARNING, reason)]


async def test_finding_13_a_call_is_never_charged_past_its_dialled_limit(
    client: httpx.AsyncClient, runtime: Runtime, calls_log: pytest.LogCaptureFixture
) -> None:
    # given: a call dialled with maxDurationSeconds 600 and a balance of 500
    learner = await new_learner(client, runtime, balance=500)
    call = await answered_call(runtime, learner.user_id, max_duration_s=600)

    # when: a signed report claims an hour
    response = await post_vapi(client, runtime, report_message(
        provider_call_id=call.provider_call_id or "", external_id=call.id, seconds=3600))

    # then: 600 s at 20 a minute is 200, and the overshoot is logged
    assert response.status_code == 200
    found = await get_call(client, call_gid(call.id))
    assert found is not None
    assert (found["durationSeconds"], found["chargeMinor"]) == (3600, 200)
    entries = await LedgerEntry.filter(business_key=f"call:{call.id}").values_list(
        "amount_minor", flat=True)
    assert entries == [-200]
    assert await balance_of(client) == 300
    overshoot = [r for r in calls_log.records
                 if r.getMessage() == "vapi reported a call longer than its limit"]
    assert [(r.duration_s, r.max_duration_s) for r in overshoot] == [(3600, 600)]  # type: ignore[attr-defined]
