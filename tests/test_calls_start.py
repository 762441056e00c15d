"""`startCall` refusals, and what the dial job does with VAPI's answers."""

from __future__ import annotations

import uuid

import httpx
import pytest

from db.models.accounts import User
from db.models.calls import Call
from db.models.ops import Job
from db.models.topics import Topic
from domain import calls
from domain.calls_dial import dial
from main import Runtime
from providers.vapi import VapiDialer
from schema.ids import decode_uuid, encode
from tests.calls_harness import (
    CALLS,
    Learner,
    adjust_balance,
    new_learner,
    start_call,
    vapi_call_for,
    wait_for_call,
)
from tests.conftest import gql


async def call_count(learner: Learner) -> int:
    return await Call.filter(user_id=learner.user_id).count()


async def assert_refused(learner: Learner, code: str, field: str | None, message: str,
                         topic_id: str | None = None) -> None:
    before = await call_count(learner)
    jobs_before = await Job.filter(kind="dial").count()

    result = await start_call(learner.client, topic_id)

    assert result == {"__typename": "StartCallError", "code": code, "field": field,
                      "message": message}
    assert await call_count(learner) == before
    assert await Job.filter(kind="dial").count() == jobs_before


async def test_start_call_needs_a_balance_covering_a_minute(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    learner = await new_learner(client, runtime, balance=0)
    await assert_refused(learner, "INSUFFICIENT_BALANCE", None,
                         "Your balance does not cover one minute of coaching. Top up first.")

    # a balance driven negative (e.g. by a refund) refuses too
    learner = await new_learner(client, runtime, balance=500)
    await adjust_balance(runtime, learner.user_id, -481)  # 19 < one minute at 20
    await assert_refused(learner, "INSUFFICIENT_BALANCE", None,
                         "Your balance does not cover one minute of coaching. Top up first.")


async def test_start_call_needs_a_phone(client: httpx.AsyncClient, runtime: Runtime) -> None:
    # given: a learner without a phone (as after a Google sign-up)
    learner = await new_learner(client, runtime, balance=500)
    await User.filter(id=learner.user_id).update(phone=None)

    await assert_refused(learner, "NO_PHONE", "phone", "Add a phone number to your profile first.")


async def test_start_call_refuses_while_another_call_is_active(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    learner = await new_learner(client, runtime, balance=500)
    await Call.create(user_id=learner.user_id, status="in_progress",
                      provider_call_id=str(uuid.uuid4()),
                      requested_at=runtime.services.clock.now())

    await assert_refused(learner, "CALL_ALREADY_ACTIVE", None,
                         "A call is already in progress. Wait for it to end first.")


async def test_start_call_refuses_when_processing_is_restricted(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    learner = await new_learner(client, runtime, balance=500)
    await User.filter(id=learner.user_id).update(processing_restricted=True)

    await assert_refused(
        learner, "PROCESSING_RESTRICTED", None,
        "Processing of your data is restricted at your request, so we cannot call you.")


async def test_start_call_refuses_unknown_malformed_and_retired_topics(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    learner = await new_learner(client, runtime, balance=500)
    retired = await Topic.create(slug=f"retired-{uuid.uuid4().hex[:8]}", title="Old topic",
                                 description="Retired.", level_min="A2", level_max="B1",
                                 instructions="Talk.", active=False)
    for topic_id in (encode("Topic", uuid.uuid4()), "not-an-id", encode("Call", uuid.uuid4()),
                     encode("Topic", retired.id)):
        await assert_refused(learner, "TOPIC_NOT_FOUND", "topicId", "No such topic.", topic_id)


async def test_start_call_requires_sign_in(client: httpx.AsyncClient) -> None:
    body = await gql(client, "mutation { startCall { __typename } }", expect_errors=True)

    assert body["data"] is None
    assert [(e["message"], e["extensions"]["code"]) for e in body["errors"]] == [
        ("Sign in to do this.", "UNAUTHENTICATED")]


async def test_a_closed_account_is_refused_by_the_scheduler_path(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    # given: closure signs the learner out, so only the plan scheduler could still try
    learner = await new_learner(client, runtime, balance=500)
    await User.filter(id=learner.user_id).update(status="closed")

    # when
    with pytest.raises(calls.StartCallRefused) as refused:
        await calls.start_call(
            effects=runtime.services.effects, user_id=learner.user_id, topic_id=None,
            now=runtime.services.clock.now(), pricing=calls.Pricing(20, "USD"),
            plan_slot="2026-03-29T08:00:00+00:00",
        )

    # then
    assert (refused.value.code, refused.value.message) == (
        calls.StartCallErrorCode.ACCOUNT_CLOSED, "This account is closed.")
    assert await call_count(learner) == 0


async def test_a_plan_slot_places_one_call_however_often_it_is_started(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    learner = await new_learner(client, runtime, balance=500)
    slot = f"2026-03-29T08:00:00+00:00#{uuid.uuid4().hex[:6]}"

    first = await calls.start_call(
        effects=runtime.services.effects, user_id=learner.user_id, topic_id=None,
        now=runtime.services.clock.now(), pricing=calls.Pricing(20, "USD"), plan_slot=slot)
    again = await calls.start_call(
        effects=runtime.services.effects, user_id=learner.user_id, topic_id=None,
        now=runtime.services.clock.now(), pricing=calls.Pricing(20, "USD"), plan_slot=slot)

    assert again.id == first.id
    assert await Call.filter(user_id=learner.user_id, plan_slot=slot).count() == 1
    await wait_for_call(client, encode("Call", first.id))


async def test_a_vapi_refusal_fails_the_call_with_its_reason_and_costs_nothing(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    # given: a phone number VAPI will not accept (stored before validation existed)
    learner = await new_learner(client, runtime, balance=500)
    await User.filter(id=learner.user_id).update(phone="+1")

    # when
    started = await start_call(client)
    call = await wait_for_call(client, started["id"])

    # then
    assert (call["status"], call["chargeMinor"]) == ("FAILED", None)
    assert call["failureReason"] == (
        "VAPI refused the call: HTTP 400: customer.number must be a valid phone number")
    body = await gql(client, CALLS, {"status": "FAILED"})
    assert [e["node"]["id"] for e in body["data"]["calls"]["edges"]] == [started["id"]]

    # and the learner may try again at once
    await User.filter(id=learner.user_id).update(phone=learner.phone)
    retry = await start_call(client)
    assert retry["__typename"] == "Call"
    await wait_for_call(client, retry["id"])


async def test_the_dial_job_never_posts_a_call_twice(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    # given: a call the dial job has placed
    await new_learner(client, runtime, balance=500)
    started = await start_call(client)
    await wait_for_call(client, started["id"])

    # when: the job runs again (a lapsed lease, a crash after the POST)
    call_id = decode_uuid(started["id"], "Call")
    await dial(effects=runtime.services.effects,
               dialer=VapiDialer(runtime.settings, runtime.http_client), call_id=call_id)

    # then: still one call at VAPI for it
    response = await client.get(
        "/sandbox/vapi/call",
        headers={"Authorization": f"Bearer {runtime.settings.vapi_api_key}"})
    ours = [c for c in response.json() if c["customer"].get("externalId") == str(call_id)]
    assert len(ours) == 1
    assert (await vapi_call_for(client, runtime, started["id"]))["id"] == ours[0]["id"]
