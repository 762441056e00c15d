"""Driving calls from the outside: a funded learner, `startCall`, the VAPI twin, signed webhooks.

The learner's balance comes through the public top-up flow (GraphQL + the Stripe twin). The
VAPI twin plays each call back to our `/webhooks/vapi` at speed 0; tests wait by polling the
`call` query, never by sleeping a fixed time.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import httpx
import phonenumbers

from db.models.accounts import User
from domain import ledger
from domain.uow import UnitOfWork
from main import Runtime
from schema.ids import decode_uuid, encode
from tests.conftest import gql, register
from tests.stripe_twin import StripeTwin, create_top_up, session_of

VAPI = "/sandbox/vapi"

CALL_FIELDS = """
  id status endedReason failureReason requestedAt startedAt endedAt durationSeconds
  chargeMinor currency recordingUrl topic { id title }
  transcript { role text startS endS }
"""
START_CALL = (
    "mutation($topicId: ID) { startCall(topicId: $topicId) { __typename "
    "... on Call { " + CALL_FIELDS + " } "
    "... on StartCallError { code field message } } }"
)
CALL = "query($id: ID!) { call(id: $id) { " + CALL_FIELDS + " } }"
CALLS = """
query($first: Int, $after: String, $status: CallStatus) {
  calls(first: $first, after: $after, status: $status) {
    edges { cursor node { id status } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}"""
BALANCE = "{ me { balance { amountMinor currency } } }"


def unique_phone() -> str:
    """A valid UK mobile number nobody else in this run has (scenarios are set per number)."""
    while True:
        number = f"+447911{random.randint(100000, 999999)}"
        if phonenumbers.is_valid_number(phonenumbers.parse(number)):
            return number


@dataclass
class Learner:
    client: httpx.AsyncClient
    user_id: UUID
    phone: str
    full_name: str


async def new_learner(
    client: httpx.AsyncClient, runtime: Runtime, *, balance: int = 2000,
    full_name: str = "Ada Lovelace", phone: str | None = None,
) -> Learner:
    """Register a learner on ``client`` and top up ``balance`` through Stripe's twin."""
    phone = phone or unique_phone()
    signed_in = await register(client, phone=phone, full_name=full_name)
    user_id = decode_uuid(signed_in["user"]["id"], "User")
    if balance:
        settings = runtime.settings
        twin = StripeTwin(client, str(settings.stripe_api_key), str(settings.stripe_webhook_secret))
        top_up = await create_top_up(client, balance)
        assert top_up["__typename"] == "TopUp", top_up
        await twin.complete(session_of(top_up))
        assert await balance_of(client) == balance
    return Learner(client, user_id, phone, full_name)


async def adjust_balance(runtime: Runtime, user_id: UUID, delta_minor: int) -> None:
    """Move a learner's balance by hand (a support adjustment) through the ledger."""
    user = await User.get(id=user_id)
    async with UnitOfWork(runtime.services.effects) as uow:
        await ledger.post(
            uow, account_ref=user.account_ref, user_id=user.id, kind=ledger.EntryKind.ADJUSTMENT,
            amount_minor=delta_minor, currency=runtime.settings.currency,
            business_key=f"test-adjustment:{uuid.uuid4()}",
        )


async def balance_of(client: httpx.AsyncClient) -> int:
    me = (await gql(client, BALANCE))["data"]["me"]
    amount: int = me["balance"]["amountMinor"]
    return amount


async def start_call(client: httpx.AsyncClient, topic_id: str | None = None) -> dict[str, Any]:
    body = await gql(client, START_CALL, {"topicId": topic_id})
    result: dict[str, Any] = body["data"]["startCall"]
    return result


async def get_call(client: httpx.AsyncClient, call_id: str) -> dict[str, Any] | None:
    found: dict[str, Any] | None = (await gql(client, CALL, {"id": call_id}))["data"]["call"]
    return found


def finished(call: dict[str, Any] | None) -> bool:
    return call is not None and (call["chargeMinor"] is not None or call["status"] == "FAILED")


async def wait_for_call(
    client: httpx.AsyncClient,
    call_id: str,
    until: Callable[[dict[str, Any] | None], bool] = finished,
    timeout: float = 20.0,
) -> dict[str, Any]:
    """Poll the `call` query until ``until`` holds (default: the call is finished)."""
    deadline = time.monotonic() + timeout
    while True:
        call = await get_call(client, call_id)
        if until(call):
            assert call is not None
            return call
        if time.monotonic() > deadline:
            raise AssertionError(f"call never reached the expected state: {call}")
        await asyncio.sleep(0.05)


async def set_scenario(http: httpx.AsyncClient, number: str, scenario: str) -> None:
    response = await http.post(f"{VAPI}/_control/scenario",
                               json={"number": number, "scenario": scenario})
    assert response.status_code == 200, response.text


async def vapi_call_for(http: httpx.AsyncClient, runtime: Runtime, call_id: str) -> dict[str, Any]:
    """The twin's call object for our call (matched by ``customer.externalId``)."""
    ours = str(decode_uuid(call_id, "Call"))
    response = await http.get(
        f"{VAPI}/call", headers={"Authorization": f"Bearer {runtime.settings.vapi_api_key}"}
    )
    assert response.status_code == 200, response.text
    for call in response.json():
        if call["customer"].get("externalId") == ours:
            found: dict[str, Any] = call
            return found
    raise AssertionError(f"the twin has no call for {ours}")


async def wait_for_playback(http: httpx.AsyncClient, provider_call_id: str) -> None:
    response = await http.post(f"{VAPI}/_control/wait",
                               json={"callId": provider_call_id, "timeout": 20})
    assert response.status_code == 200, response.text


def sign(secret: str, body: str, timestamp: int | None = None) -> dict[str, str]:
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), f"{stamp}.{body}".encode(), hashlib.sha256).hexdigest()
    return {"x-timestamp": stamp, "x-signature": digest, "content-type": "application/json"}


async def post_vapi(
    http: httpx.AsyncClient,
    runtime: Runtime,
    message: dict[str, Any],
    *,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    """POST ``{"message": message}`` to our webhook, signed like VAPI unless ``headers``."""
    body = json.dumps({"message": message})
    sent = headers if headers is not None else sign(str(runtime.settings.vapi_webhook_secret), body)
    return await http.post("/webhooks/vapi", content=body.encode(), headers=sent)


def report_message(
    *, provider_call_id: str, external_id: UUID, seconds: float = 90.0,
    ended_reason: str = "customer-ended-call",
) -> dict[str, Any]:
    """A minimal end-of-call report of an answered call lasting ``seconds``."""
    started = "2026-01-05T10:00:00.000Z"
    ended_ms = 1767607200000 + int(seconds * 1000)
    return {
        "type": "end-of-call-report",
        "endedReason": ended_reason,
        "startedAt": started,
        "endedAt": ended_ms,
        "durationSeconds": seconds,
        "artifact": {"messages": [
            {"role": "bot", "message": "Hello! Ready?", "secondsFromStart": 0.5,
             "duration": 1500},
            {"role": "user", "message": "Yes, I am ready.", "secondsFromStart": 2.5,
             "duration": 1200},
        ]},
        "call": {"id": provider_call_id, "customer": {"externalId": str(external_id)}},
    }


def call_gid(call_id: UUID) -> str:
    return encode("Call", call_id)


def new_provider_id() -> str:
    return str(uuid.uuid4())
