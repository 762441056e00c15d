"""`/webhooks/vapi` authenticated as VAPI really sends it, and the dial that tells VAPI how."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import fields, replace
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from db.models.billing import LedgerEntry
from db.models.calls import Call
from db.models.ops import WebhookDelivery
from domain.calls import DialRequest
from main import Runtime
from providers.vapi import SERVER_MESSAGES, VapiDialer
from tests.calls_harness import (
    balance_of,
    call_gid,
    get_call,
    new_learner,
    new_provider_id,
    report_message,
    start_call,
    vapi_call_for,
    wait_for_call,
)
from webhooks.vapi import vapi_webhook_routes
from webhooks.vapi_auth import HmacPlan

VAPI = "/sandbox/vapi"
#: A plan as far from VAPI's defaults as its HmacAuthenticationPlan allows.
CUSTOM_PLAN = {
    "type": "hmac",
    "algorithm": "sha512",
    "signatureHeader": "x-vapi-signature",
    "timestampHeader": "x-vapi-timestamp",
    "signaturePrefix": "v1=",
    "signatureEncoding": "base64",
    "payloadFormat": "{method} {url}\n{timestamp}\n{body}",
}


@asynccontextmanager
async def webhook_with(runtime: Runtime, **settings: Any) -> AsyncIterator[httpx.AsyncClient]:
    """``/webhooks/vapi`` as ``main.create_app`` builds it, with other settings, on the running
    service's database and outbox."""
    services = replace(runtime.services, settings=replace(runtime.settings, **settings))
    app = Starlette(routes=vapi_webhook_routes(services))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://testserver") as http:
        yield http


def hmac_default(secret: str, body: bytes, stamp: str | None = None) -> dict[str, str]:
    stamp = stamp or str(int(time.time()))
    digest = hmac.new(secret.encode(), stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return {"x-timestamp": stamp, "x-signature": digest}


def hmac_custom(secret: str, body: bytes) -> dict[str, str]:
    stamp = str(int(time.time() * 1000))  # milliseconds
    signed = f"POST http://testserver/webhooks/vapi\n{stamp}\n".encode() + body
    digest = hmac.new(secret.encode(), signed, hashlib.sha512).digest()
    return {"x-vapi-timestamp": stamp,
            "x-vapi-signature": "v1=" + base64.b64encode(digest).decode()}


SCHEMES: dict[str, Callable[[str, bytes], dict[str, str]]] = {
    "hmac-default": hmac_default,
    "hmac-custom-plan": hmac_custom,
    "bearer": lambda secret, body: {"authorization": f"Bearer {secret}"},
    "x-vapi-secret": lambda secret, body: {"X-Vapi-Secret": secret},
}


def whole_answered_call(provider_id: str, call_id: uuid.UUID) -> list[dict[str, Any]]:
    """What VAPI sends about an answered 90 s call, in order."""
    call = {"id": provider_id, "customer": {"externalId": str(call_id)}}
    return [
        {"type": "status-update", "status": "in-progress", "call": call},
        {"type": "transcript", "role": "user", "transcriptType": "final",
         "transcript": "Yes, I am ready.", "call": call},
        {"type": "status-update", "status": "ended", "endedReason": "customer-ended-call",
         "call": call},
        report_message(provider_call_id=provider_id, external_id=call_id, seconds=90),
    ]


@pytest.mark.parametrize("scheme", list(SCHEMES))
async def test_a_whole_answered_call_is_accepted_under_each_scheme_and_billed_once(
    client: httpx.AsyncClient, runtime: Runtime, scheme: str
) -> None:
    # given: a ringing call, and the webhook configured as VAPI's credential would be
    learner = await new_learner(client, runtime, balance=600)
    provider_id = new_provider_id()
    call = await Call.create(user_id=learner.user_id, status="ringing",
                             provider_call_id=provider_id, max_duration_s=600,
                             requested_at=runtime.services.clock.now())
    secret = str(runtime.settings.vapi_webhook_secret)
    plan = json.dumps(CUSTOM_PLAN) if scheme == "hmac-custom-plan" else None
    bodies = [json.dumps({"message": m}).encode()
              for m in whole_answered_call(provider_id, call.id)]
    credentials = SCHEMES[scheme]

    async with webhook_with(runtime, vapi_webhook_hmac_plan=plan) as vapi:
        # when: the call is sent with forged credentials, then with none
        forged = [await vapi.post("/webhooks/vapi", content=b,
                                  headers=credentials("not-" + secret, b)) for b in bodies]
        missing = [await vapi.post("/webhooks/vapi", content=b) for b in bodies]

        # then: nothing changed
        assert [r.status_code for r in forged + missing] == [401] * 8
        found = await get_call(client, call_gid(call.id))
        assert found is not None
        assert (found["status"], found["chargeMinor"], found["transcript"]) == (
            "RINGING", None, [])
        assert not await WebhookDelivery.filter(dedupe_key__startswith=provider_id).exists()

        # when: VAPI sends it, and the report once more
        sent = [await vapi.post("/webhooks/vapi", content=b, headers=credentials(secret, b))
                for b in [*bodies, bodies[-1]]]

    # then: applied, and billed once (90 s at 20 a minute)
    assert [r.json()["outcome"] for r in sent] == ["applied"] * 4 + ["duplicate"]
    found = await get_call(client, call_gid(call.id))
    assert found is not None
    assert (found["status"], found["durationSeconds"], found["chargeMinor"]) == ("ENDED", 90, 30)
    entries = await LedgerEntry.filter(business_key=f"call:{call.id}").values_list(
        "amount_minor", flat=True)
    assert entries == [-30]
    assert await balance_of(client) == 570


async def test_a_signature_in_the_wrong_plan_is_refused(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    secret = str(runtime.settings.vapi_webhook_secret)
    body = json.dumps({"message": {"type": "hang", "call": {"id": new_provider_id()}}}).encode()

    async with webhook_with(runtime, vapi_webhook_hmac_plan=json.dumps(CUSTOM_PLAN)) as vapi:
        default_signed = await vapi.post("/webhooks/vapi", content=body,
                                         headers=hmac_default(secret, body))
        custom_signed = await vapi.post("/webhooks/vapi", content=body,
                                        headers=hmac_custom(secret, body))

    assert (default_signed.status_code, custom_signed.status_code) == (401, 200)


@pytest.mark.parametrize(("plan", "error"), [
    ("{nope", "VAPI_WEBHOOK_HMAC_PLAN is not JSON"),
    ('{"algorithm": "md5"}', "VAPI_WEBHOOK_HMAC_PLAN: algorithm must be one of sha256, sha512, "
                             "sha1"),
    ('{"signatureEncodng": "hex"}', "VAPI_WEBHOOK_HMAC_PLAN: unknown field(s) signatureEncodng"),
    ('{"includeTimestamp": "yes"}', "VAPI_WEBHOOK_HMAC_PLAN: includeTimestamp must be a bool"),
])
def test_a_bad_hmac_plan_stops_the_start_naming_its_variable(
    runtime: Runtime, plan: str, error: str
) -> None:
    services = replace(runtime.services,
                       settings=replace(runtime.settings, vapi_webhook_hmac_plan=plan))
    with pytest.raises(ValueError) as refused:
        vapi_webhook_routes(services)
    assert str(refused.value) == error


class CountingBody:
    """A request body that counts how much of it the server pulled."""

    def __init__(self, chunks: int) -> None:
        self.chunks, self.read = chunks, 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for _ in range(self.chunks):
            self.read += 1
            yield b" " * 1_000_000


async def test_finding_07_a_request_without_credentials_is_refused_before_its_body_is_read(
    client: httpx.AsyncClient,
) -> None:
    body = CountingBody(20)

    response = await client.post("/webhooks/vapi", content=body,
                                 headers={"content-type": "application/json"})

    assert (response.status_code, response.json()) == (401, {"error": "invalid signature"})
    assert body.read <= 1


async def test_finding_12_a_nan_timestamp_never_passes(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    secret = str(runtime.settings.vapi_webhook_secret)
    body = json.dumps({"message": {"type": "hang", "call": {"id": new_provider_id()}}}).encode()

    answers = [
        await client.post("/webhooks/vapi", content=body,
                          headers=hmac_default(secret, body, stamp=stamp))
        for stamp in ("nan", "NaN", "inf", "-inf", "1e400")
    ]

    assert [r.status_code for r in answers] == [401] * 5


async def test_finding_12_the_dedupe_key_comes_from_the_signed_body_not_a_header(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    # given: an answered call
    learner = await new_learner(client, runtime, balance=600)
    provider_id = new_provider_id()
    call = await Call.create(user_id=learner.user_id, status="in_progress",
                             provider_call_id=provider_id, max_duration_s=600,
                             requested_at=runtime.services.clock.now())
    secret = str(runtime.settings.vapi_webhook_secret)
    ref = {"id": provider_id, "customer": {"externalId": str(call.id)}}

    def line(text: str) -> bytes:
        return json.dumps({"message": {"type": "transcript", "role": "user",
                                       "transcriptType": "final", "transcript": text,
                                       "call": ref}}).encode()

    async def post(body: bytes, message_id: str) -> str:
        response = await client.post("/webhooks/vapi", content=body, headers={
            **hmac_default(secret, body), "x-vapi-message-id": message_id})
        assert response.status_code == 200
        outcome: str = response.json()["outcome"]
        return outcome

    # when: two lines under one unsigned id, and the first again under a new one
    outcomes = [await post(line("First line."), "m-1"), await post(line("Second line."), "m-1"),
                await post(line("First line."), "m-2")]

    # then: both lines are kept, the repeat is a duplicate
    assert outcomes == ["applied", "applied", "duplicate"]
    found = await get_call(client, call_gid(call.id))
    assert found is not None
    assert [t["text"] for t in found["transcript"]] == ["First line.", "Second line."]


async def test_the_dial_gives_vapi_our_secret_header_and_the_server_messages(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    # given an inline assistant and no webhook credential (the test service's settings)
    await new_learner(client, runtime, balance=600)

    started = await start_call(client)
    call = await wait_for_call(client, started["id"])

    placed = await vapi_call_for(client, runtime, started["id"])
    assert placed["assistant"]["server"] == {
        "url": "http://testserver/webhooks/vapi",
        "headers": {"X-Vapi-Secret": str(runtime.settings.vapi_webhook_secret)},
    }
    assert placed["assistant"]["serverMessages"] == [
        "status-update", "transcript", "conversation-update", "end-of-call-report"]
    # and VAPI (the twin) authenticated with it: the call ended and was billed
    assert call["status"] == "ENDED" and call["chargeMinor"] > 0


async def test_a_saved_assistant_gets_the_credential_and_server_messages_as_overrides(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    # given: a saved assistant and a webhook credential
    settings = replace(runtime.settings, vapi_assistant_id="asst-coach",
                       vapi_webhook_credential_id="cred-0b7e")
    dialer = VapiDialer(settings, runtime.http_client)
    request = DialRequest(call_id=uuid.uuid4(), phone="+447911123499", first_name="Ada",
                          instructions="Coach.", coach_voice="FRIENDLY_FEMALE",
                          max_duration_s=300, variables={"firstName": "Ada"})

    # when
    placed = await dialer.create_call(request)

    # then: the twin got the credential, never the secret, and our server messages
    response = await client.get(f"{VAPI}/call/{placed.id}",
                                headers={"Authorization": f"Bearer {settings.vapi_api_key}"})
    received = response.json()
    assert "assistant" not in received and received["assistantId"] == "asst-coach"
    assert received["assistantOverrides"] == {
        "variableValues": {"firstName": "Ada"},
        "maxDurationSeconds": 300,
        "serverMessages": SERVER_MESSAGES,
        "server": {"url": "http://testserver/webhooks/vapi", "credentialId": "cred-0b7e"},
    }
    assert SERVER_MESSAGES == [
        "status-update", "transcript", "conversation-update", "end-of-call-report"]
    await client.post(f"{VAPI}/_control/wait", json={"callId": placed.id, "timeout": 20})


def test_our_hmac_plan_is_vapis_hmac_plan_field_for_field() -> None:
    from vapi.types import CreateWebhookCredentialDtoAuthenticationPlan_Hmac, HmacAuthenticationPlan

    theirs = {f.alias or name for name, f in HmacAuthenticationPlan.model_fields.items()}
    assert {f.name for f in fields(HmacPlan)} == theirs - {"secretKey"}
    # the plan our tests and docs use is one VAPI accepts for a webhook credential
    CreateWebhookCredentialDtoAuthenticationPlan_Hmac.model_validate(
        {**CUSTOM_PLAN, "secretKey": "s"})
    assert HmacPlan.parse(json.dumps(CUSTOM_PLAN)).payloadFormat == CUSTOM_PLAN["payloadFormat"]


@pytest.mark.parametrize("saved_assistant", [False, True])
def test_the_dial_body_is_a_valid_vapi_outbound_call(
    runtime: Runtime, saved_assistant: bool
) -> None:
    import typing

    from vapi.types import AssistantOverridesServerMessagesItem, CreateOutboundCallDto, Server

    settings = replace(runtime.settings, vapi_webhook_credential_id="cred-1",
                       vapi_assistant_id="asst-1" if saved_assistant else None)
    body = VapiDialer(settings, runtime.http_client).call_body(DialRequest(
        call_id=uuid.uuid4(), phone="+447911123499", first_name="Ada", instructions="Coach.",
        coach_voice="CALM_MALE", max_duration_s=300, variables={"firstName": "Ada"}))

    CreateOutboundCallDto.model_validate(body)
    holder = body["assistantOverrides"] if saved_assistant else body["assistant"]
    Server.model_validate(holder["server"])
    assert holder["server"] == {"url": "http://testserver/webhooks/vapi", "credentialId": "cred-1"}
    known = typing.get_args(typing.get_args(AssistantOverridesServerMessagesItem)[0])
    assert set(holder["serverMessages"]) <= set(known)
    assert holder["maxDurationSeconds"] == 300


@pytest.mark.parametrize("plan", [
    pytest.param({"type": "hmac", "algorithm": "sha256"}, id="hmac-defaults"),
    pytest.param({"type": "bearer"}, id="bearer"),
])
async def test_a_whole_call_through_the_twin_authenticated_by_a_webhook_credential(
    client: httpx.AsyncClient, runtime: Runtime, plan: dict[str, Any]
) -> None:
    # given: a webhook credential at VAPI holding our secret, and a learner's requested call
    secret = str(runtime.settings.vapi_webhook_secret)
    key = {"Authorization": f"Bearer {runtime.settings.vapi_api_key}"}
    plan = {**plan, ("token" if plan["type"] == "bearer" else "secretKey"): secret}
    created = await client.post(f"{VAPI}/credential", headers=key, json={
        "provider": "webhook", "name": "callfluently", "authenticationPlan": plan})
    assert created.status_code == 201, created.text
    learner = await new_learner(client, runtime, balance=600)
    call = await Call.create(user_id=learner.user_id, status="queued", max_duration_s=600,
                             requested_at=runtime.services.clock.now())
    dialer = VapiDialer(replace(runtime.settings,
                                vapi_webhook_credential_id=created.json()["id"]),
                        runtime.http_client)

    # when: the call is dialled naming the credential, and the twin plays it
    placed = await dialer.create_call(DialRequest(
        call_id=call.id, phone=learner.phone, first_name="Ada", instructions="Coach.",
        coach_voice="CALM_MALE", max_duration_s=600, variables={"firstName": "Ada"}))
    await client.post(f"{VAPI}/_control/wait", json={"callId": placed.id, "timeout": 20})

    # then: every message was let in, and the call was billed once with its lesson
    deliveries = (await client.get(f"{VAPI}/_control/deliveries/{placed.id}")).json()
    sent = {k.lower() for d in deliveries["deliveries"] for k in d["headers"]} - {"content-type"}
    assert sent == ({"authorization"} if plan["type"] == "bearer"
                    else {"x-signature", "x-timestamp"})
    assert {d["status"] for d in deliveries["deliveries"]} == {200}
    found = await get_call(client, call_gid(call.id))
    assert found is not None and found["status"] == "ENDED" and found["chargeMinor"] > 0
    assert len(found["transcript"]) == 12
    entries = await LedgerEntry.filter(business_key=f"call:{call.id}").count()
    assert entries == 1
    assert await balance_of(client) == 600 - found["chargeMinor"]
