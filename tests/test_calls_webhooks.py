"""`/webhooks/vapi`: authenticity, dedupe, ordering, and charging a call exactly once."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from typing import Any

import httpx
import pytest
from tortoise import connections

from db.models.billing import LedgerEntry
from db.models.calls import Call
from db.models.ops import WebhookDelivery
from main import Runtime
from tests.calls_harness import (
    Learner,
    balance_of,
    call_gid,
    get_call,
    new_learner,
    new_provider_id,
    post_vapi,
    report_message,
    set_scenario,
    sign,
    start_call,
    vapi_call_for,
    wait_for_call,
)

VAPI = "/sandbox/vapi"


async def ringing_call(runtime: Runtime, learner: Learner) -> tuple[Call, str]:
    """A call VAPI is ringing: seeded as the dial job would have left it."""
    provider_id = new_provider_id()
    call = await Call.create(
        user_id=learner.user_id, status="ringing", provider_call_id=provider_id,
        requested_at=runtime.services.clock.now(), max_duration_s=600,
    )
    return call, provider_id


def status_message(
    provider_id: str, call_id: uuid.UUID, status: str, **extra: Any
) -> dict[str, Any]:
    return {"type": "status-update", "status": status, **extra,
            "call": {"id": provider_id, "customer": {"externalId": str(call_id)}}}


def comparable(call: dict[str, Any]) -> dict[str, Any]:
    """What must not depend on delivery order (ids and wall-clock times differ per call)."""
    return {k: call[k] for k in ("status", "endedReason", "durationSeconds", "chargeMinor",
                                  "transcript", "failureReason")}


@pytest.mark.parametrize("headers", [
    pytest.param({}, id="unsigned"),
    pytest.param({"x-timestamp": str(int(time.time())), "x-signature": "0" * 64}, id="forged"),
    pytest.param({"x-vapi-secret": "not-the-secret"}, id="wrong-shared-secret"),
    pytest.param("stale", id="stale-timestamp"),
    pytest.param("future", id="future-timestamp"),
    pytest.param("other-body", id="signature-of-another-body"),
])
async def test_unauthenticated_webhooks_are_401_and_change_nothing(
    client: httpx.AsyncClient, runtime: Runtime, headers: Any
) -> None:
    # given
    learner = await new_learner(client, runtime, balance=600)
    call, provider_id = await ringing_call(runtime, learner)
    message = report_message(provider_call_id=provider_id, external_id=call.id)
    secret = str(runtime.settings.vapi_webhook_secret)
    body = json.dumps({"message": message})
    if headers == "stale":
        headers = sign(secret, body, int(time.time()) - 301)
    elif headers == "future":
        headers = sign(secret, body, int(time.time()) + 301)
    elif headers == "other-body":
        headers = sign(secret, json.dumps({"message": {**message, "durationSeconds": 1}}))
    # when
    response = await post_vapi(client, runtime, message, headers=headers)

    # then
    assert response.status_code == 401
    assert response.json() == {"error": "invalid signature"}
    found = await get_call(client, call_gid(call.id))
    assert found is not None
    assert (found["status"], found["chargeMinor"], found["transcript"]) == ("RINGING", None, [])
    assert await balance_of(client) == 600
    assert not await WebhookDelivery.filter(dedupe_key__startswith=provider_id).exists()

    # and the same message, properly signed, is applied
    response = await post_vapi(client, runtime, message)
    assert response.status_code == 200
    assert response.json() == {"received": True, "outcome": "applied"}
    found = await get_call(client, call_gid(call.id))
    assert found is not None and found["status"] == "ENDED"


async def test_the_shared_secret_header_is_accepted(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    learner = await new_learner(client, runtime, balance=600)
    call, provider_id = await ringing_call(runtime, learner)
    secret = str(runtime.settings.vapi_webhook_secret)

    response = await post_vapi(
        client, runtime, status_message(provider_id, call.id, "in-progress"),
        headers={"x-vapi-secret": secret, "content-type": "application/json"},
    )

    assert response.status_code == 200
    found = await get_call(client, call_gid(call.id))
    assert found is not None and found["status"] == "IN_PROGRESS"


async def test_unknown_types_fields_and_calls_are_acknowledged(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    learner = await new_learner(client, runtime, balance=600)
    call, provider_id = await ringing_call(runtime, learner)

    unknown_type = await post_vapi(client, runtime, {"type": "speech-update", "status": "started",
                                                     "call": {"id": provider_id}})
    unknown_call = await post_vapi(client, runtime, status_message(
        new_provider_id(), uuid.uuid4(), "ringing"))
    extra_fields = await post_vapi(client, runtime, status_message(
        provider_id, call.id, "in-progress", brandNewField={"x": [1, 2]}, phoneNumber=None))
    unknown_status = await post_vapi(client, runtime, status_message(
        provider_id, call.id, "teleporting"))

    assert [r.status_code for r in (unknown_type, unknown_call, extra_fields, unknown_status)] == [
        200, 200, 200, 200]
    assert [r.json()["outcome"] for r in (unknown_type, unknown_call, extra_fields)] == [
        "ignored", "not_ours", "applied"]
    found = await get_call(client, call_gid(call.id))
    assert found is not None and found["status"] == "IN_PROGRESS"


async def test_a_body_that_is_not_a_message_is_400(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    secret = str(runtime.settings.vapi_webhook_secret)
    for body, error in (("{not json", "body is not JSON"), ('{"message": 7}', "no message object"),
                        ("[1, 2]", "no message object")):
        response = await client.post("/webhooks/vapi", content=body.encode(),
                                     headers=sign(secret, body))
        assert (response.status_code, response.json()) == (400, {"error": error})


async def test_status_only_moves_forward(client: httpx.AsyncClient, runtime: Runtime) -> None:
    learner = await new_learner(client, runtime, balance=600)
    call, provider_id = await ringing_call(runtime, learner)

    for status in ("in-progress", "queued", "ringing", "forwarding"):
        response = await post_vapi(client, runtime, status_message(provider_id, call.id, status))
        assert response.status_code == 200

    found = await get_call(client, call_gid(call.id))
    assert found is not None and found["status"] == "IN_PROGRESS"


async def test_a_call_is_charged_once_however_many_reports_arrive(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    # given: an answered call, then five reports (the same one three times, one claiming a
    # longer call twice), some at the same time
    learner = await new_learner(client, runtime, balance=600)
    call, provider_id = await ringing_call(runtime, learner)
    first = report_message(provider_call_id=provider_id, external_id=call.id, seconds=90)
    longer = report_message(provider_call_id=provider_id, external_id=call.id, seconds=300)

    # when
    responses = [await post_vapi(client, runtime, first)]
    responses += await asyncio.gather(
        post_vapi(client, runtime, first),
        post_vapi(client, runtime, longer),
        post_vapi(client, runtime, first),
        post_vapi(client, runtime, longer),
    )

    # then: 90 s at 20 a minute is 30, charged once
    assert [r.status_code for r in responses] == [200] * 5
    found = await get_call(client, call_gid(call.id))
    assert found is not None
    assert (found["status"], found["durationSeconds"], found["chargeMinor"]) == ("ENDED", 90, 30)
    assert [(t["role"], t["text"]) for t in found["transcript"]] == [
        ("COACH", "Hello! Ready?"), ("LEARNER", "Yes, I am ready.")]
    entries = await LedgerEntry.filter(business_key=f"call:{call.id}").values_list(
        "amount_minor", flat=True)
    assert entries == [-30]
    assert await balance_of(client) == 570


async def test_duplicated_and_shuffled_deliveries_end_in_the_same_state_as_in_order(
    client: httpx.AsyncClient, new_client, runtime: Runtime
) -> None:
    finals: dict[str, dict[str, Any]] = {}
    for scenario in ("answered", "duplicates", "shuffled"):
        async with new_client() as browser:
            # given: the same learner name and topic, so the twin plays the same lesson
            learner = await new_learner(browser, runtime, balance=2000, full_name="Ada Lovelace")
            await set_scenario(client, learner.phone, scenario)

            # when
            started = await start_call(browser)
            finals[scenario] = await wait_for_call(browser, started["id"])

            # and then every delivery comes again, twice, in a shuffled order
            placed = await vapi_call_for(client, runtime, started["id"])
            replay = await client.post(f"{VAPI}/_control/calls/{placed['id']}/replay",
                                       json={"order": "shuffled", "times": 2})
            assert replay.status_code == 200
            assert {d["status"] for d in replay.json()["deliveries"]} == {200}
            again = await get_call(browser, started["id"])
            assert again == finals[scenario]
            assert await balance_of(browser) == 2000 - finals[scenario]["chargeMinor"]

    # then
    in_order = comparable(finals["answered"])
    assert in_order["status"] == "ENDED" and len(in_order["transcript"]) == 12
    assert comparable(finals["duplicates"]) == in_order
    assert comparable(finals["shuffled"]) == in_order


async def test_a_webhook_before_the_dial_response_is_matched_by_external_id(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    # given: the twin delivers the first message inside its POST /call handler
    learner = await new_learner(client, runtime, balance=2000)
    await set_scenario(client, learner.phone, "webhook-before-response")

    # when
    started = await start_call(client)
    call = await wait_for_call(client, started["id"])

    # then: that first message was ours and applied, and the call completed normally
    placed = await vapi_call_for(client, runtime, started["id"])
    deliveries = (await client.get(f"{VAPI}/_control/deliveries/{placed['id']}")).json()
    first = deliveries["deliveries"][0]
    assert (first["type"], first["status"]) == ("status-update", 200)
    stored = await WebhookDelivery.get(dedupe_key=f"{placed['id']}:status-update:queued")
    assert stored.user_id == learner.user_id
    assert (call["status"], call["endedReason"]) == ("ENDED", "customer-ended-call")
    assert len(call["transcript"]) == 12
    assert await Call.filter(provider_call_id=placed["id"]).count() == 1


@pytest.mark.postgres_only
async def test_a_200_way_burst_of_ending_calls_keeps_balance_equal_to_the_ledger(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    # given: one learner with 200 calls in progress (seeded as the dial job leaves them)
    learner = await new_learner(client, runtime, balance=5000)
    now = runtime.services.clock.now()
    calls = [
        Call(user_id=learner.user_id, status="in_progress", provider_call_id=new_provider_id(),
             requested_at=now, started_at=now, max_duration_s=600)
        for _ in range(200)
    ]
    await Call.bulk_create(calls)

    # when: every report arrives twice (two bursts) all at once
    reports = [
        report_message(provider_call_id=c.provider_call_id or "", external_id=c.id,
                       seconds=30 + i % 50)
        for i, c in enumerate(calls)
    ]
    responses = await asyncio.gather(*(
        post_vapi(client, runtime, report) for _ in (1, 2) for report in reports
    ))

    # then
    assert {r.status_code for r in responses} == {200}
    expected = sum(-(-(30 + i % 50) * 20 // 60) for i in range(200))
    _, rows = await connections.get("default").execute_query(
        """
        SELECT b.amount_minor AS balance,
               (SELECT SUM(e.amount_minor) FROM ledger_entries e
                 WHERE e.account_ref = b.account_ref) AS ledger,
               (SELECT COUNT(*) FROM ledger_entries e
                 WHERE e.account_ref = b.account_ref AND e.kind = 'call_charge') AS charges
          FROM balances b JOIN users u ON u.account_ref = b.account_ref
         WHERE u.id = $1
        """,
        [str(learner.user_id)],
    )
    assert dict(rows[0]) == {"balance": 5000 - expected, "ledger": 5000 - expected,
                             "charges": 200}
