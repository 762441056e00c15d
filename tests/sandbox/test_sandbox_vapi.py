"""The VAPI twin speaks VAPI's wire format and plays every scenario our webhook must survive.

The sandbox runs in-process; its webhooks go to a tiny receiver app (standing in for our
``/webhooks/vapi``) that checks every HMAC signature itself, so a signing bug cannot hide.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sandbox import SandboxContext
from sandbox.vapi import create_app

SECRET = "test-vapi-webhook-secret"
SERVICE = "http://service.test"
AUTH = {"Authorization": "Bearer sandbox-key"}
ANSWERED_TYPES = (
    ["status-update"] * 3
    + ["transcript"] * 24
    + [
        "conversation-update",
        "status-update",
        "end-of-call-report",
    ]
)


@dataclass
class Received:
    headers: dict[str, str]
    raw: bytes
    message: dict[str, Any]
    signature_ok: bool
    during_post: bool


@dataclass
class Receiver:
    """Our webhook endpoint, reduced to verifying, recording and answering."""

    received: list[Received] = field(default_factory=list)
    answer_503_for: set[str] = field(default_factory=set)
    raise_for: set[str] = field(default_factory=set)
    #: Set by a test while its POST /call is in flight.
    post_in_flight: bool = False

    async def handle(self, request: Request) -> Response:
        raw = await request.body()
        stamp = request.headers.get("x-timestamp", "0")
        expected = hmac.new(SECRET.encode(), stamp.encode() + b"." + raw, hashlib.sha256)
        ok = hmac.compare_digest(expected.hexdigest(), request.headers.get("x-signature", ""))
        ok = ok and abs(time.time() - int(stamp)) < 300
        message = json.loads(raw)["message"]
        self.received.append(Received(dict(request.headers), raw, message, ok, self.post_in_flight))
        external_id = message["call"]["customer"].get("externalId")
        if external_id in self.raise_for:
            raise RuntimeError("receiver blew up")
        if not ok:
            return JSONResponse({"error": "bad signature"}, status_code=401)
        if external_id in self.answer_503_for:
            return JSONResponse({"error": "try later"}, status_code=503)
        return JSONResponse({"ok": True})

    def for_call(self, call_id: str) -> list[dict[str, Any]]:
        return [r.message for r in self.received if r.message["call"]["id"] == call_id]


@dataclass
class Env:
    client: httpx.AsyncClient
    receiver: Receiver
    app: Starlette


def make_ctx(receiver: Receiver, speed: float = 0) -> SandboxContext:
    app = Starlette(routes=[Route("/webhooks/vapi", receiver.handle, methods=["POST"])])
    return SandboxContext(
        public_base_url=SERVICE,
        http_client=lambda: httpx.AsyncClient(transport=httpx.ASGITransport(app)),
        vapi_webhook_secret=SECRET,
        stripe_webhook_secret="unused",
        speed=speed,
    )


@pytest.fixture
async def env() -> AsyncIterator[Env]:
    receiver = Receiver()
    app = create_app(make_ctx(receiver))
    async with (
        LifespanManager(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app), base_url="http://vapi.test", headers=AUTH
        ) as client,
    ):
        yield Env(client, receiver, app)


def call_body(number: str = "+447700900123", external_id: str = "ext-1", **extra: Any) -> Any:
    return {
        "phoneNumberId": "pn-sandbox",
        "customer": {"number": number, "externalId": external_id, "name": "Ana Lopez"},
        "assistantId": "asst-coach",
        "assistantOverrides": {
            "variableValues": {"firstName": "Ana", "topicTitle": "Travelling abroad"},
            "server": {"url": f"{SERVICE}/webhooks/vapi", "credentialId": "cred-hmac"},
            "serverMessages": [
                "status-update", "transcript", "conversation-update", "end-of-call-report"],
        },
        **extra,
    }


async def place(env: Env, **kwargs: Any) -> dict[str, Any]:
    """POST /call, then wait for the whole playback; returns the 201 body."""
    response = await env.client.post("/call", json=call_body(**kwargs))
    assert response.status_code == 201, response.text
    call: dict[str, Any] = response.json()
    done = await env.client.post("/_control/wait", json={"call_id": call["id"], "timeout": 10})
    assert done.status_code == 200 and done.json()["done"] is True
    return call


def ms(stamp: str) -> int:
    assert stamp.endswith("Z")
    return round(datetime.fromisoformat(stamp).timestamp() * 1000)


def kinds(messages: list[dict[str, Any]]) -> list[str]:
    return [m["type"] for m in messages]


async def test_requests_without_a_bearer_key_get_nest_401(env: Env) -> None:
    for headers in ({}, {"Authorization": "Bearer "}, {"Authorization": "Basic abc"}):
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(env.app), base_url="http://vapi.test", headers=headers
        ) as anonymous:
            response = await anonymous.post("/call", json=call_body())
            assert response.status_code == 401
            body = response.json()
            assert body["error"] == "Unauthorized" and body["statusCode"] == 401
            assert isinstance(body["message"], str) and body["message"]
            assert (await anonymous.get("/call/anything")).status_code == 401
    assert env.receiver.received == []


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"customer": {"number": "07700 900123"}}, "customer.number must be a valid phone number"),
        ({"customer": {"number": "+0123"}}, "customer.number must be a valid phone number"),
        ({"phoneNumberId": None}, "phoneNumberId should not be empty"),
        ({"assistantId": None}, "assistantId or assistant must be provided"),
        ({"maxDurationSeconds": 5}, "maxDurationSeconds must not be less than 10"),
    ],
)
async def test_post_call_validation_answers_nest_400(
    env: Env, change: dict[str, Any], expected: str
) -> None:
    body = call_body()
    body.update(change)
    body = {k: v for k, v in body.items() if v is not None}
    response = await env.client.post("/call", json=body)
    assert response.status_code == 400
    assert response.json()["error"] == "Bad Request"
    assert response.json()["statusCode"] == 400
    assert expected in response.json()["message"]
    not_json = await env.client.post("/call", content=b"nope")
    assert not_json.status_code == 400 and isinstance(not_json.json()["message"], list)
    assert (await env.client.get("/_control/calls")).json()["calls"] == []


async def test_answered_call_plays_signed_webhooks_in_order_with_a_consistent_report(
    env: Env,
) -> None:
    created = await place(env)
    assert created["type"] == "outboundPhoneCall" and created["status"] == "queued"
    assert created["customer"]["externalId"] == "ext-1"
    assert created["phoneNumberId"] == "pn-sandbox" and created["assistantId"] == "asst-coach"
    assert created["createdAt"].endswith("Z") and created["orgId"]

    received = env.receiver.received
    assert all(r.signature_ok for r in received)
    assert all(r.headers["x-timestamp"].isdigit() for r in received)
    assert len({r.raw for r in received}) == len(received)
    assert not any(k.startswith("x-vapi") for r in received for k in r.headers)
    messages = env.receiver.for_call(created["id"])
    assert kinds(messages) == ANSWERED_TYPES
    assert [m.get("status") for m in messages[:3]] == ["queued", "ringing", "in-progress"]
    assert messages[-2]["status"] == "ended"
    assert messages[-2]["endedReason"] == "customer-ended-call"
    assert all(m["call"]["customer"]["externalId"] == "ext-1" for m in messages)
    assert [m["timestamp"] for m in messages] == sorted(m["timestamp"] for m in messages)

    transcripts = [m for m in messages if m["type"] == "transcript"]
    assert {m["transcriptType"] for m in transcripts} == {"partial", "final"}
    finals = [m for m in transcripts if m["transcriptType"] == "final"]
    assert [m["role"] for m in finals] == ["assistant", "user"] * 6
    spoken = " ".join(m["transcript"] for m in finals)
    assert "Ana" in spoken and "Travelling abroad" in spoken and "I goed to the market" in spoken
    conversation = messages[-3]["messages"]
    assert [m["role"] for m in conversation[1:]] == ["bot", "user"] * 6

    report = messages[-1]
    started, ended = ms(report["startedAt"]), ms(report["endedAt"])
    assert report["durationMs"] == ended - started
    assert report["durationSeconds"] == pytest.approx((ended - started) / 1000)
    assert 80 <= report["durationSeconds"] <= 110
    assert report["endedReason"] == "customer-ended-call" and report["cost"] > 0
    artifact = report["artifact"]
    assert artifact["transcript"] == report["transcript"]
    assert "User: Yesterday I goed to the market" in artifact["transcript"]
    assert artifact["messages"] == report["messages"]
    assert artifact["recording"]["mono"]["combinedUrl"] == report["recordingUrl"]
    assert artifact["recordingUrl"] == report["recordingUrl"]
    spoken_turns = [m for m in artifact["messages"] if m["role"] != "system"]
    for turn in spoken_turns:
        assert turn["role"] in ("bot", "user")
        assert turn["time"] == started + round(turn["secondsFromStart"] * 1000)
        assert turn["duration"] == turn["endTime"] - turn["time"] > 0
        assert started <= turn["time"] < turn["endTime"] <= ended
    assert [t["secondsFromStart"] for t in spoken_turns] == sorted(
        t["secondsFromStart"] for t in spoken_turns
    )

    fetched = (await env.client.get(f"/call/{created['id']}")).json()
    assert fetched["status"] == "ended" and fetched["endedReason"] == "customer-ended-call"
    assert fetched["startedAt"] == report["startedAt"] and fetched["endedAt"] == report["endedAt"]
    assert fetched["artifact"] == artifact and fetched["cost"] == report["cost"]
    listed = (await env.client.get("/_control/calls")).json()["calls"]
    assert [d["status"] for d in listed[0]["deliveries"]] == [200] * len(ANSWERED_TYPES)
    assert listed[0]["scenario"] == "answered" and listed[0]["playbackDone"] is True


@pytest.mark.parametrize(
    ("suffix", "reason", "types"),
    [
        ("0001", "customer-did-not-answer", ["status-update"] * 3 + ["end-of-call-report"]),
        ("0002", "customer-busy", ["status-update"] * 3 + ["end-of-call-report"]),
        ("0004", "twilio-failed-to-connect-call", ["status-update"] * 2 + ["end-of-call-report"]),
    ],
)
async def test_unconnected_calls_end_without_transcript(
    env: Env, suffix: str, reason: str, types: list[str]
) -> None:
    created = await place(env, number=f"+4477009{suffix}")
    messages = env.receiver.for_call(created["id"])
    assert kinds(messages) == types
    report = messages[-1]
    assert report["endedReason"] == reason and report["durationSeconds"] == 0
    assert "startedAt" not in report and "transcript" not in report
    assert report["artifact"]["messages"] == [] and "recording" not in report["artifact"]
    fetched = (await env.client.get(f"/call/{created['id']}")).json()
    assert fetched["endedReason"] == reason and "startedAt" not in fetched


async def test_voicemail_leaves_a_message_and_ends_with_voicemail(env: Env) -> None:
    created = await place(env, number="+447700900003")
    messages = env.receiver.for_call(created["id"])
    assert {m["role"] for m in messages if m["type"] == "transcript"} == {"assistant"}
    assert messages[-1]["endedReason"] == "voicemail"
    assert messages[-1]["transcript"].startswith("AI: Hi Ana")


async def test_scenario_control_per_number_and_globally(env: Env) -> None:
    bad = await env.client.post("/_control/scenario", json={"scenario": "explode"})
    assert bad.status_code == 400 and bad.json()["statusCode"] == 400
    busy_number = "+14155550123"
    set_busy = {"scenario": "busy", "number": busy_number}
    assert (await env.client.post("/_control/scenario", json=set_busy)).status_code == 200
    busy = await place(env, number=busy_number, external_id="busy")
    other = await place(env, number="+14155550999", external_id="other")
    assert env.receiver.for_call(busy["id"])[-1]["endedReason"] == "customer-busy"
    assert env.receiver.for_call(other["id"])[-1]["endedReason"] == "customer-ended-call"

    await env.client.post("/_control/scenario", json={"scenario": "no-answer"})
    silent = await place(env, number="+14155550999", external_id="silent")
    assert env.receiver.for_call(silent["id"])[-1]["endedReason"] == "customer-did-not-answer"
    scenarios = {
        c["id"]: c["scenario"] for c in (await env.client.get("/_control/calls")).json()["calls"]
    }
    assert scenarios == {busy["id"]: "busy", other["id"]: "answered", silent["id"]: "no-answer"}


async def test_duplicates_deliver_every_message_twice_with_the_same_id(env: Env) -> None:
    await env.client.post("/_control/scenario", json={"scenario": "duplicates"})
    await place(env)
    received = env.receiver.received
    assert len(received) == 2 * len(ANSWERED_TYPES) and all(r.signature_ok for r in received)
    per_body = Counter(r.raw for r in received)
    assert set(per_body.values()) == {2} and len(per_body) == len(ANSWERED_TYPES)
    for first, again in zip(received[::2], received[1::2], strict=True):
        assert first.raw == again.raw


async def test_shuffled_delivers_everything_once_out_of_order(env: Env) -> None:
    await env.client.post("/_control/scenario", json={"scenario": "shuffled"})
    created = await place(env)
    messages = env.receiver.for_call(created["id"])
    assert sorted(kinds(messages)) == sorted(ANSWERED_TYPES)
    stamps = [m["timestamp"] for m in messages]
    assert stamps != sorted(stamps)


async def test_webhook_before_response_arrives_before_the_201(env: Env) -> None:
    await env.client.post("/_control/scenario", json={"scenario": "webhook-before-response"})
    env.receiver.post_in_flight = True
    response = await env.client.post("/call", json=call_body(external_id="early-bird"))
    env.receiver.post_in_flight = False
    assert response.status_code == 201
    early = env.receiver.received[0]
    assert early.during_post and early.signature_ok
    assert early.message["type"] == "status-update" and early.message["status"] == "queued"
    assert early.message["call"]["id"] == response.json()["id"]
    assert early.message["call"]["customer"]["externalId"] == "early-bird"
    await env.client.post("/_control/wait", json={"call_id": response.json()["id"]})
    assert kinds(env.receiver.for_call(response.json()["id"])) == ANSWERED_TYPES


async def test_other_scenarios_deliver_only_after_the_response(env: Env) -> None:
    env.receiver.post_in_flight = True
    response = await env.client.post("/call", json=call_body())
    env.receiver.post_in_flight = False
    await env.client.post("/_control/wait", json={"call_id": response.json()["id"]})
    assert env.receiver.received and not any(r.during_post for r in env.receiver.received)


async def test_delete_removes_the_call_and_its_recording(env: Env) -> None:
    created = await place(env)
    recording_url = env.receiver.for_call(created["id"])[-1]["recordingUrl"]
    recording = await env.client.get(recording_url)
    assert recording.status_code == 200 and recording.headers["content-type"] == "audio/wav"

    deleted = await env.client.delete(f"/call/{created['id']}")
    assert deleted.status_code == 200 and deleted.json()["id"] == created["id"]
    gone = await env.client.get(f"/call/{created['id']}")
    assert gone.status_code == 404 and gone.json() == {"message": "Not Found", "statusCode": 404}
    assert (await env.client.get(recording_url)).status_code == 404
    assert (await env.client.delete(f"/call/{created['id']}")).status_code == 404
    (listed,) = (await env.client.get("/_control/calls")).json()["calls"]
    assert listed["deleted"] is True and listed["recordingDeleted"] is True
    assert listed["deletedAt"].endswith("Z")


async def test_replay_resends_the_same_bodies_with_fresh_signatures(env: Env) -> None:
    created = await place(env)
    originals = (await env.client.get(f"/_control/deliveries/{created['id']}")).json()
    first = originals["deliveries"]
    assert {"x-timestamp", "x-signature"} <= set(first[0]["headers"])
    replay = await env.client.post(
        f"/_control/calls/{created['id']}/replay", json={"order": "reverse", "times": 2}
    )
    assert replay.status_code == 200
    resent = replay.json()["deliveries"]
    ids = [d["messageId"] for d in first]
    assert [d["messageId"] for d in resent] == list(reversed(ids)) * 2
    assert all(d["status"] == 200 and d["replay"] for d in resent)
    replayed = env.receiver.received[len(first) :]
    bodies = {d["messageId"]: d["body"].encode() for d in first}
    assert all(r.signature_ok for r in replayed)
    assert [r.raw for r in replayed] == [bodies[i] for i in reversed(ids)] * 2
    bad_order = await env.client.post(f"/_control/calls/{created['id']}/replay", json={"order": 1})
    assert bad_order.status_code == 400


async def test_max_duration_inside_the_assistant_cuts_the_call(env: Env) -> None:
    body = call_body()
    body.pop("assistantId")
    body["assistant"] = {"name": "Coach", "maxDurationSeconds": 30}
    response = await env.client.post("/call", json=body)
    assert response.status_code == 201 and response.json()["maxDurationSeconds"] == 30
    await env.client.post("/_control/wait", json={"call_id": response.json()["id"]})
    report = env.receiver.for_call(response.json()["id"])[-1]
    assert report["endedReason"] == "exceeded-max-duration"
    assert report["durationSeconds"] == 30
    assert all(m.get("endTime", 0) <= ms(report["endedAt"]) for m in report["messages"])


async def test_delivery_failures_are_recorded_not_raised(env: Env) -> None:
    env.receiver.answer_503_for.add("flaky")
    env.receiver.raise_for.add("broken")
    flaky = await place(env, external_id="flaky")
    broken = await place(env, external_id="broken", number="+447700900002")
    calls = {c["id"]: c for c in (await env.client.get("/_control/calls")).json()["calls"]}
    assert {d["status"] for d in calls[flaky["id"]]["deliveries"]} == {503}
    broken_deliveries = calls[broken["id"]]["deliveries"]
    assert len(broken_deliveries) == 4
    assert all(d["status"] is None and "receiver blew up" in d["error"] for d in broken_deliveries)
    assert calls[broken["id"]]["playbackError"] is None
    assert calls[broken["id"]]["status"] == "ended"


async def test_unknown_calls_are_404(env: Env) -> None:
    assert (await env.client.get("/call/nope")).json() == {
        "message": "Not Found",
        "statusCode": 404,
    }
    assert (await env.client.delete("/call/nope")).status_code == 404
    assert (await env.client.post("/_control/wait", json={"call_id": "nope"})).status_code == 404
    assert (await env.client.get("/_control/deliveries/nope")).status_code == 404


async def test_shutdown_cancels_running_playbacks() -> None:
    receiver = Receiver()
    app = create_app(make_ctx(receiver, speed=1))
    sandbox = app.state.vapi_sandbox
    async with (
        LifespanManager(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app), base_url="http://vapi.test", headers=AUTH
        ) as client,
    ):
        created = (await client.post("/call", json=call_body())).json()
        waited = await client.post("/_control/wait", json={"call_id": created["id"], "timeout": 0})
        assert waited.status_code == 408 and waited.json()["done"] is False
        task = sandbox.calls[created["id"]].task
        assert task is not None and not task.done()
    assert task.cancelled()
    assert not sandbox._tasks
