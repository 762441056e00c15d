"""The VAPI twin checked against VAPI's own published types (``vapi-server-sdk``), and our webhook
fed everything the twin plays.

The SDK's models accept any string where VAPI lists values (``Union[Literal[...], Any]``), so the
listed values (types, statuses, roles, ended reasons) are checked here against the literals.
"""

from __future__ import annotations

import json
import typing
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pydantic
import pytest
from asgi_lifespan import LifespanManager
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from vapi.types import (
    Call as SdkCall,
)
from vapi.types import (
    CallEndedReason,
    ServerMessageConversationUpdate,
    ServerMessageConversationUpdateType,
    ServerMessageEndOfCallReport,
    ServerMessageEndOfCallReportType,
    ServerMessageHang,
    ServerMessageHangType,
    ServerMessageSpeechUpdate,
    ServerMessageSpeechUpdateRole,
    ServerMessageSpeechUpdateStatus,
    ServerMessageSpeechUpdateType,
    ServerMessageStatusUpdate,
    ServerMessageStatusUpdateStatus,
    ServerMessageStatusUpdateType,
    ServerMessageTranscript,
    ServerMessageTranscriptRole,
    ServerMessageTranscriptType,
)

from db.models.calls import Call
from main import Runtime
from sandbox import SandboxContext
from sandbox.vapi import create_app
from sandbox.vapi_playback import ENDED_REASONS as ENDED
from sandbox.vapi_playback import OUTCOMES
from tests.calls_harness import call_gid, get_call, new_learner, post_vapi

SERVICE = "http://service.test"


def listed(annotation: Any) -> frozenset[str]:
    """The values an SDK ``Union[Literal[...], Any]`` lists."""
    literal = typing.get_args(annotation)[0]
    return frozenset(typing.get_args(literal))


MODELS: dict[str, tuple[type[pydantic.BaseModel], Any]] = {
    "status-update": (ServerMessageStatusUpdate, ServerMessageStatusUpdateType),
    "transcript": (ServerMessageTranscript, ServerMessageTranscriptType),
    'transcript[transcriptType="final"]': (ServerMessageTranscript, ServerMessageTranscriptType),
    "conversation-update": (ServerMessageConversationUpdate, ServerMessageConversationUpdateType),
    "end-of-call-report": (ServerMessageEndOfCallReport, ServerMessageEndOfCallReportType),
    "hang": (ServerMessageHang, ServerMessageHangType),
    "speech-update": (ServerMessageSpeechUpdate, ServerMessageSpeechUpdateType),
}
ENDED_REASONS = listed(CallEndedReason)


def check_against_sdk(message: dict[str, Any]) -> None:
    """Raise unless ``message`` is what VAPI's SDK says such a message is."""
    model, kind = MODELS[message["type"]]
    assert message["type"] in listed(kind)
    model.model_validate(message)
    SdkCall.model_validate(message["call"])
    if "endedReason" in message:
        assert message["endedReason"] in ENDED_REASONS, message["endedReason"]
    if message["type"] == "status-update":
        assert message["status"] in listed(ServerMessageStatusUpdateStatus)
    if message["type"].startswith("transcript"):
        assert message["role"] in listed(ServerMessageTranscriptRole)
        assert message["transcriptType"] in ("partial", "final")
    if message["type"] == "speech-update":
        assert message["status"] in listed(ServerMessageSpeechUpdateStatus)
        assert message["role"] in listed(ServerMessageSpeechUpdateRole)


@dataclass
class Recorder:
    messages: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)

    async def handle(self, request: Request) -> Response:
        self.headers.append(dict(request.headers))
        self.messages.append(json.loads(await request.body())["message"])
        return JSONResponse({"ok": True})


@pytest.fixture
async def twin() -> AsyncIterator[tuple[httpx.AsyncClient, Recorder]]:
    recorder = Recorder()
    service = Starlette(routes=[Route("/webhooks/vapi", recorder.handle, methods=["POST"])])
    app = create_app(SandboxContext(
        public_base_url=SERVICE,
        http_client=lambda: httpx.AsyncClient(transport=httpx.ASGITransport(service)),
        vapi_webhook_secret="twin-secret", stripe_webhook_secret="unused", speed=0,
    ))
    async with LifespanManager(app), httpx.AsyncClient(
        transport=httpx.ASGITransport(app), base_url="http://vapi.test",
        headers={"Authorization": "Bearer key"},
    ) as client:
        yield client, recorder


def dial(number: str, server_messages: list[str] | None) -> dict[str, Any]:
    overrides: dict[str, Any] = {
        "variableValues": {"firstName": "Ana", "topicTitle": "Travelling abroad"},
        "server": {"url": f"{SERVICE}/webhooks/vapi", "headers": {"X-Vapi-Secret": "s"}},
    }
    if server_messages is not None:
        overrides["serverMessages"] = server_messages
    return {"phoneNumberId": "pn", "assistantId": "asst",
            "customer": {"number": number, "externalId": "ext"},
            "assistantOverrides": overrides}


async def play(client: httpx.AsyncClient, scenario: str,
               server_messages: list[str] | None = None) -> dict[str, Any]:
    number = f"+4477009{abs(hash(scenario)) % 100000:05d}"
    await client.post("/_control/scenario", json={"number": number, "scenario": scenario})
    created = await client.post("/call", json=dial(number, server_messages))
    assert created.status_code == 201, created.text
    call: dict[str, Any] = created.json()
    done = await client.post("/_control/wait", json={"callId": call["id"], "timeout": 20})
    assert done.json()["done"] is True
    return call


@pytest.mark.parametrize("scenario", OUTCOMES)
async def test_every_message_the_twin_sends_validates_against_the_sdk(
    twin: tuple[httpx.AsyncClient, Recorder], scenario: str
) -> None:
    client, recorder = twin

    created = await play(client, scenario)

    assert recorder.messages
    for message in recorder.messages:
        check_against_sdk(message)
        # the call as created, never its live state
        assert message["call"] == created
    assert not any(k.startswith("x-vapi-message") for h in recorder.headers for k in h)


async def test_a_default_assistant_plays_hang_speech_updates_and_tool_calls(
    twin: tuple[httpx.AsyncClient, Recorder],
) -> None:
    client, recorder = twin

    await play(client, "assistant-ended", server_messages=None)

    kinds = {m["type"] for m in recorder.messages}
    # VAPI's default serverMessages: no transcript, but speech updates and hang
    assert kinds == {"status-update", "speech-update", "hang", "conversation-update",
                     "end-of-call-report"}
    tool_calls = [item for m in recorder.messages if m["type"] == "conversation-update"
                  for item in m["messages"] if item["role"] == "tool_calls"]
    assert [c["toolCalls"][0]["function"]["name"] for c in tool_calls] == ["endCall"]
    assert recorder.messages[-1]["endedReason"] == "assistant-ended-call"


async def test_final_lines_come_as_their_own_type_when_asked_for(
    twin: tuple[httpx.AsyncClient, Recorder],
) -> None:
    client, recorder = twin

    await play(client, "answered", server_messages=[
        "status-update", 'transcript[transcriptType="final"]', "end-of-call-report"])

    lines = [m for m in recorder.messages if m["type"].startswith("transcript")]
    assert len(lines) == 12
    assert {(m["type"], m["transcriptType"]) for m in lines} == {
        ('transcript[transcriptType="final"]', "final")}
    for message in recorder.messages:
        check_against_sdk(message)


async def test_carrier_completed_reports_come_without_a_duration(
    twin: tuple[httpx.AsyncClient, Recorder],
) -> None:
    client, recorder = twin

    await play(client, "carrier-completed")

    report = recorder.messages[-1]
    assert report["endedReason"] == "call.in-progress.twilio-completed-call"
    assert not {"durationSeconds", "durationMs", "durationMinutes"} & set(report)
    assert report["startedAt"] < report["endedAt"]


@pytest.mark.parametrize("scenario", ["assistant-ended", "carrier-completed"])
async def test_our_webhook_takes_everything_a_default_assistant_sends(
    twin: tuple[httpx.AsyncClient, Recorder], client: httpx.AsyncClient, runtime: Runtime,
    scenario: str,
) -> None:
    # given: every message of a call the twin played with VAPI's default serverMessages (and
    # the final transcript lines), about a call of ours
    vapi, recorder = twin
    created = await play(vapi, scenario, server_messages=[
        "status-update", "speech-update", "hang", "conversation-update", "end-of-call-report",
        'transcript[transcriptType="final"]', "user-interrupted"])
    learner = await new_learner(client, runtime, balance=600)
    call = await Call.create(user_id=learner.user_id, status="queued",
                             provider_call_id=created["id"], max_duration_s=600,
                             requested_at=runtime.services.clock.now())

    # when: our webhook gets them all
    answers = [await post_vapi(client, runtime, m) for m in recorder.messages]

    # then: every one is acknowledged, and the call ends billed with its lesson
    assert {r.status_code for r in answers} == {200}
    assert {m["type"] for m in recorder.messages} >= {"speech-update", "hang",
                                                      'transcript[transcriptType="final"]'}
    ignored = {m["type"] for m, r in zip(recorder.messages, answers, strict=True)
               if r.json()["outcome"] == "ignored"}
    assert ignored == {"speech-update", "hang"}
    found = await get_call(client, call_gid(call.id))
    assert found is not None
    assert found["status"] == "ENDED" and found["endedReason"] == ENDED[scenario]
    assert 80 <= found["durationSeconds"] <= 120
    assert found["chargeMinor"] == -(-found["durationSeconds"] * 20 // 60)
    assert len(found["transcript"]) == 12


async def test_the_twin_authenticates_only_as_the_dialled_server_says(
    twin: tuple[httpx.AsyncClient, Recorder],
) -> None:
    client, recorder = twin
    with_headers = dial("+447700900500", ["status-update"])
    without = dial("+447700900501", ["status-update"])
    without["assistantOverrides"]["server"] = {"url": f"{SERVICE}/webhooks/vapi"}

    for body in (with_headers, without):
        created = (await client.post("/call", json=body)).json()
        await client.post("/_control/wait", json={"callId": created["id"], "timeout": 20})

    sent = [{k: v for k, v in h.items() if k.startswith("x-")} for h in recorder.headers]
    assert sent == [{"x-vapi-secret": "s"}] * 4 + [{}] * 4


async def test_the_twin_refuses_a_credential_vapi_would_refuse(
    twin: tuple[httpx.AsyncClient, Recorder],
) -> None:
    client, _ = twin

    answers = [await client.post("/credential", json=body) for body in (
        {"provider": "webhook", "authenticationPlan": {"type": "hmac", "algorithm": "md5"}},
        {"provider": "webhook", "authenticationPlan": {"type": "bearer"}},
        {"provider": "slack", "authenticationPlan": {"type": "oauth2"}},
    )]

    assert [(r.status_code, r.json()["message"]) for r in answers] == [
        (400, ["authenticationPlan.secretKey should not be empty",
               "authenticationPlan.algorithm must be one of the following values: sha256, "
               "sha512, sha1"]),
        (400, ["authenticationPlan.token should not be empty"]),
        (400, ["provider must be one of the following values: webhook",
               "authenticationPlan.type must be one of the following values: hmac, bearer"]),
    ]
