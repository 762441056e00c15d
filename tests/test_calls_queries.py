"""Reading calls: who may see which call, paging, filtering, the recording link's expiry."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest

from db.models.accounts import User
from db.models.calls import Call, TranscriptTurn
from db.models.live import Event
from main import Runtime
from tests.calls_harness import CALL, CALLS, call_gid, new_learner, start_call, wait_for_call
from tests.conftest import gql

NODE = "query($id: ID!) { node(id: $id) { ... on Call { id status } } }"


async def ended_call(runtime: Runtime, user_id: Any, *, minutes_ago: int = 60,
                     status: str = "ended", **fields: Any) -> Call:
    at = runtime.services.clock.now() - timedelta(minutes=minutes_ago)
    return await Call.create(user_id=user_id, status=status, requested_at=at, started_at=at,
                             ended_at=at + timedelta(minutes=2), duration_s=120, billable_s=120,
                             charge_minor=40, **fields)


@pytest.mark.parametrize("who", ["anonymous", "other learner", "support", "owner"])
async def test_only_the_owner_reads_a_call(
    client: httpx.AsyncClient, new_client, runtime: Runtime, who: str
) -> None:
    # given: a learner's call with a turn
    owner = await new_learner(client, runtime, balance=0)
    call = await ended_call(runtime, owner.user_id, ended_reason="customer-ended-call")
    await TranscriptTurn.create(call_id=call.id, seq=1, role="learner", text="Hello there")

    async with new_client() as browser:
        if who == "owner":
            browser = client
        elif who != "anonymous":
            other = await new_learner(browser, runtime, balance=0)
            if who == "support":
                await User.filter(id=other.user_id).update(role="support")

        # when
        one = await gql(browser, CALL, {"id": call_gid(call.id)}, expect_errors=True)
        many = await gql(browser, CALLS, {}, expect_errors=True)
        node = await gql(browser, NODE, {"id": call_gid(call.id)})

    # then
    if who == "anonymous":
        assert (one["data"], many["data"]) == ({"call": None}, None)
        for body in (one, many):
            assert [(e["message"], e["extensions"]["code"]) for e in body["errors"]] == [
                ("Sign in to do this.", "UNAUTHENTICATED")]
    elif who == "owner":
        assert one["data"]["call"]["transcript"] == [
            {"role": "LEARNER", "text": "Hello there", "startS": None, "endS": None}]
        assert [e["node"]["id"] for e in many["data"]["calls"]["edges"]] == [call_gid(call.id)]
        assert node == {"data": {"node": {"id": call_gid(call.id), "status": "ENDED"}}}
    else:
        assert one == {"data": {"call": None}}
        assert many["data"]["calls"]["edges"] == []
    if who != "owner":
        assert node == {"data": {"node": None}}


async def test_calls_are_paged_newest_first_and_filtered_by_status(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    # given
    learner = await new_learner(client, runtime, balance=0)
    oldest = await ended_call(runtime, learner.user_id, minutes_ago=30)
    middle = await ended_call(runtime, learner.user_id, minutes_ago=20, status="failed",
                              failure_reason="VAPI could not be reached.")
    newest = await ended_call(runtime, learner.user_id, minutes_ago=10)

    # when
    page1 = (await gql(client, CALLS, {"first": 2}))["data"]["calls"]
    page2 = (await gql(client, CALLS, {"first": 2, "after": page1["pageInfo"]["endCursor"]}))[
        "data"]["calls"]
    ended = (await gql(client, CALLS, {"status": "ENDED"}))["data"]["calls"]

    # then
    assert [e["node"]["id"] for e in page1["edges"]] == [call_gid(newest.id), call_gid(middle.id)]
    assert (page1["pageInfo"]["hasNextPage"], page1["pageInfo"]["hasPreviousPage"]) == (
        True, False)
    assert [e["node"]["id"] for e in page2["edges"]] == [call_gid(oldest.id)]
    assert (page2["pageInfo"]["hasNextPage"], page2["pageInfo"]["hasPreviousPage"]) == (
        False, True)
    assert [e["node"]["id"] for e in ended["edges"]] == [call_gid(newest.id), call_gid(oldest.id)]


@pytest.mark.parametrize(("variables", "message"), [
    ({"first": 0}, "`first` must be between 1 and 100."),
    ({"first": 101}, "`first` must be between 1 and 100."),
    ({"after": "bm90LWEtY3Vyc29y"}, "Invalid cursor."),
    ({"after": "%%%"}, "Invalid cursor."),
])
async def test_bad_paging_input_is_a_typed_error(
    client: httpx.AsyncClient, runtime: Runtime, variables: dict[str, Any], message: str
) -> None:
    await new_learner(client, runtime, balance=0)

    body = await gql(client, CALLS, variables, expect_errors=True)

    assert body["data"] is None
    assert [(e["message"], e["extensions"]["code"]) for e in body["errors"]] == [
        (message, "BAD_USER_INPUT")]


async def test_a_malformed_call_id_is_not_found(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    await new_learner(client, runtime, balance=0)

    for bad in ("nope", "VG9waWM6MQ=="):
        assert await gql(client, CALL, {"id": bad}) == {"data": {"call": None}}


async def test_the_recording_link_disappears_when_the_recording_expires(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    learner = await new_learner(client, runtime, balance=0)
    now = runtime.services.clock.now()
    fresh = await ended_call(runtime, learner.user_id, recording_url="https://rec.example/1.wav",
                             recording_expires_at=now + timedelta(days=1))
    stale = await ended_call(runtime, learner.user_id, recording_url="https://rec.example/2.wav",
                             recording_expires_at=now - timedelta(seconds=1))

    urls = [(await gql(client, CALL, {"id": call_gid(c.id)}))["data"]["call"]["recordingUrl"]
            for c in (fresh, stale)]

    assert urls == ["https://rec.example/1.wav", None]


async def test_a_call_emits_its_live_events_in_order(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    # given
    learner = await new_learner(client, runtime, balance=2000)

    # when
    started = await start_call(client)
    call = await wait_for_call(client, started["id"])

    # then
    events = await Event.filter(user_id=learner.user_id, call_id__not_isnull=True).order_by("id")
    statuses = [e.payload["status"] for e in events if e.type == "call.status_changed"]
    assert statuses == ["requested", "queued", "ringing", "in_progress", "ended"]
    finals = [e.payload for e in events if e.type == "call.transcript" and e.payload["final"]]
    assert [f["seq"] for f in finals] == list(range(1, 13))
    partials = [e for e in events if e.type == "call.transcript" and not e.payload["final"]]
    assert len(partials) == 12
    ended = [e.payload for e in events if e.type == "call.ended"]
    assert ended == [{"status": "ended", "endedReason": "customer-ended-call",
                      "durationS": call["durationSeconds"], "chargeMinor": call["chargeMinor"],
                      "currency": "USD"}]
