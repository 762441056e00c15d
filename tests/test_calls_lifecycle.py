"""A call from `startCall` to its end-of-call report, against the VAPI twin."""

from __future__ import annotations

from collections import Counter

import httpx

from db.models.ops import Job
from db.models.plans import CallPlan
from db.models.topics import Topic
from main import Runtime
from schema.ids import decode_uuid, encode
from tests.calls_harness import (
    adjust_balance,
    balance_of,
    new_learner,
    set_scenario,
    start_call,
    vapi_call_for,
    wait_for_call,
)


async def some_topic() -> Topic:
    topic = await Topic.filter(active=True).order_by("slug").first()
    assert topic is not None, "the topic catalog is seeded by a migration"
    return topic


async def test_answered_call_ends_with_turns_charge_and_recording(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    # given
    learner = await new_learner(client, runtime, balance=2000, full_name="Ada Lovelace")
    topic = await some_topic()

    # when
    started = await start_call(client, encode("Topic", topic.id))

    # then: accepted at once, placed in the background
    assert started["__typename"] == "Call"
    assert started["status"] == "REQUESTED"
    assert started["topic"] == {"id": encode("Topic", topic.id), "title": topic.title}
    assert (started["chargeMinor"], started["transcript"], started["recordingUrl"]) == (
        None, [], None)
    call = await wait_for_call(client, started["id"])
    assert call["status"] == "ENDED"
    assert call["endedReason"] == "customer-ended-call"
    assert call["failureReason"] is None
    assert call["startedAt"] is not None and call["endedAt"] > call["startedAt"]
    turns = call["transcript"]
    assert Counter(t["role"] for t in turns) == {"COACH": 6, "LEARNER": 6}
    assert turns[0]["role"] == "COACH"
    assert turns[0]["text"].startswith("Hi Ada! This is your CallFluently coach.")
    assert topic.title in turns[0]["text"]
    assert turns[3]["text"] == (
        "Yesterday I goed to the market with my sister and we buyed some fresh vegetables."
    )
    assert all(t["startS"] < t["endS"] for t in turns)
    assert [t["startS"] for t in turns] == sorted(t["startS"] for t in turns)
    duration = call["durationSeconds"]
    assert 80 <= duration <= 120
    assert call["chargeMinor"] > 0 and call["currency"] == "USD"
    assert call["recordingUrl"].startswith("http://testserver/sandbox/vapi/recordings/")
    assert await balance_of(client) == 2000 - call["chargeMinor"]

    # and VAPI was asked exactly as design.md section 3 says
    placed = await vapi_call_for(client, runtime, started["id"])
    assert placed["phoneNumberId"] == runtime.settings.vapi_phone_number_id
    assert placed["customer"] == {
        "number": learner.phone,
        "externalId": str(decode_uuid(started["id"], "Call")),
        "name": "Ada",
    }
    variables = placed["assistantOverrides"]["variableValues"]
    assert variables["firstName"] == "Ada"
    assert variables["topicTitle"] == topic.title
    assert variables["topicInstructions"] == topic.instructions
    assert {variables["targetLevel"], variables["correctionStyle"]} == {"B2", "GENTLE"}
    # 2000 minor units at 20 a minute pay for 100 minutes; no plan caps at 10.
    assert placed["assistant"]["maxDurationSeconds"] == 600
    assert placed["assistant"]["server"] == {
        "url": "http://testserver/webhooks/vapi",
        "headers": {"X-Vapi-Secret": str(runtime.settings.vapi_webhook_secret)}}

    # and the analysis of the conversation is queued, once
    call_id = decode_uuid(started["id"], "Call")
    jobs = await Job.filter(kind="analyze", dedupe_key=f"analyze:{call_id}").values("payload")
    assert jobs == [{"payload": {"call_id": str(call_id)}}]


async def test_a_small_balance_caps_the_call_length(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    # given: 100 minor units left, which pay for 5 minutes at 20 a minute
    learner = await new_learner(client, runtime, balance=500)
    await adjust_balance(runtime, learner.user_id, -400)

    # when: no topic asked for and none selected
    started = await start_call(client)
    call = await wait_for_call(client, started["id"])

    # then
    placed = await vapi_call_for(client, runtime, started["id"])
    assert placed["assistant"]["maxDurationSeconds"] == 300
    assert placed["assistantOverrides"]["variableValues"]["topicTitle"] == "everyday life"
    assert call["topic"] is None
    seconds = call["durationSeconds"]
    assert call["chargeMinor"] in {-(-s * 20 // 60) for s in (seconds, seconds + 1)}
    assert await balance_of(client) == 100 - call["chargeMinor"]


async def test_the_plan_length_caps_the_call_and_the_charge(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    # given: a plan of one-minute calls (inactive, so the scheduler never fires for it)
    learner = await new_learner(client, runtime, balance=2000)
    await CallPlan.create(user_id=learner.user_id, days_of_week=[], local_time="09:00",
                          timezone="UTC", minutes_per_call=1, active=False)

    # when
    started = await start_call(client)
    call = await wait_for_call(client, started["id"])

    # then: VAPI cut the call at 60 s; 60 s at 20 a minute cost exactly 20
    placed = await vapi_call_for(client, runtime, started["id"])
    assert placed["assistant"]["maxDurationSeconds"] == 60
    assert (call["endedReason"], call["durationSeconds"], call["chargeMinor"]) == (
        "exceeded-max-duration", 60, 20)
    assert await balance_of(client) == 1980


async def test_unanswered_busy_voicemail_and_faulty_calls_are_free_and_keep_no_transcript(
    client: httpx.AsyncClient, new_client, runtime: Runtime
) -> None:
    expected = {
        "no-answer": "customer-did-not-answer",
        "busy": "customer-busy",
        "voicemail": "voicemail",
        "provider-fault": "twilio-failed-to-connect-call",
    }
    for scenario, reason in expected.items():
        async with new_client() as browser:
            # given
            learner = await new_learner(browser, runtime, balance=600)
            await set_scenario(client, learner.phone, scenario)

            # when
            started = await start_call(browser)
            call = await wait_for_call(browser, started["id"])

            # then
            assert (call["status"], call["endedReason"]) == ("ENDED", reason), scenario
            assert call["transcript"] == [], scenario
            assert (call["chargeMinor"], call["recordingUrl"]) == (0, None), scenario
            assert await balance_of(browser) == 600
            call_id = decode_uuid(started["id"], "Call")
            assert not await Job.filter(dedupe_key=f"analyze:{call_id}").exists()
