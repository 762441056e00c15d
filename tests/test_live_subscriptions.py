"""Live subscriptions over graphql-transport-ws against the in-process app (httpx-ws).

Events are logged the way every domain logs them (a unit of work that emits, published after
commit); the subscription is the surface under test.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import httpx
from starlette.applications import Starlette

from db.models.calls import Call
from domain.live import EventType
from domain.uow import UnitOfWork
from main import Runtime
from schema.ids import decode_uuid, encode
from tests.conftest import register
from tests.gql_ws import CALL_UPDATES, MY_EVENTS, connect


async def signed_in(client: httpx.AsyncClient) -> UUID:
    """Register a learner with ``client`` (which then holds the access cookie)."""
    result = await register(client)
    return decode_uuid(result["user"]["id"], "User")


async def log_event(runtime: Runtime, user_id: UUID, type: str, payload: dict[str, Any],
                    call_id: UUID | None = None) -> str:
    """Log one event as a domain does; returns its eventId."""
    async with UnitOfWork(runtime.services.effects) as uow:
        row = await uow.emit(user_id=user_id, type=type, payload=payload, call_id=call_id)
    return str(row.id)


async def balance(runtime: Runtime, user_id: UUID, amount: int) -> str:
    return await log_event(runtime, user_id, EventType.BALANCE_CHANGED, {
        "amountMinor": amount, "currency": "USD", "deltaMinor": 100, "kind": "top_up",
        "entryId": 1,
    })


async def new_call(user_id: UUID) -> UUID:
    call = await Call.create(user_id=user_id, requested_at=datetime.now(UTC))
    return call.id


async def test_my_events_replays_after_then_streams_live_each_once(
    app: Starlette, client: httpx.AsyncClient, runtime: Runtime
) -> None:
    # given a learner with three logged events
    user_id = await signed_in(client)
    first = await balance(runtime, user_id, 100)
    second = await balance(runtime, user_id, 200)
    third = await balance(runtime, user_id, 300)

    async with connect(app, cookies=client.cookies) as conn:
        assert await conn.init() == {"type": "connection_ack"}
        # when subscribing after the first
        op = await conn.subscribe(MY_EVENTS, {"after": first})
        replayed = await conn.events(op, 2, "myEvents")
        # and a fourth event happens while subscribed
        fourth = await balance(runtime, user_id, 400)
        live = await conn.events(op, 1, "myEvents")
        sentinel = await balance(runtime, user_id, 500)
        after_live = await conn.events(op, 1, "myEvents")

    # then the second and third are replayed, the fourth is live, nothing twice
    assert [e["eventId"] for e in replayed + live + after_live] == [second, third, fourth,
                                                                      sentinel]
    at = replayed[0].pop("at")
    assert datetime.fromisoformat(at).tzinfo is not None
    assert replayed[0] == {
        "__typename": "BalanceChanged", "eventId": second, "amountMinor": 200,
        "currency": "USD", "deltaMinor": 100, "kind": "TOP_UP",
    }


async def test_call_updates_stream_only_that_call(
    app: Starlette, client: httpx.AsyncClient, runtime: Runtime
) -> None:
    # given a learner with two calls
    user_id = await signed_in(client)
    call_id, other_call = await new_call(user_id), await new_call(user_id)
    call_gid = encode("Call", call_id)
    start = await log_event(runtime, user_id, EventType.CALL_STATUS_CHANGED,
                            {"status": "requested", "previousStatus": None}, call_id)

    async with connect(app, cookies=client.cookies) as conn:
        await conn.init()
        op = await conn.subscribe(CALL_UPDATES, {"callId": call_gid, "after": start})
        # when events of both calls, and a balance change, are logged
        await log_event(runtime, user_id, EventType.CALL_STATUS_CHANGED,
                        {"status": "queued", "previousStatus": "requested"}, other_call)
        await balance(runtime, user_id, 100)
        queued = await log_event(runtime, user_id, EventType.CALL_STATUS_CHANGED,
                                 {"status": "queued", "previousStatus": "requested"}, call_id)
        line = await log_event(runtime, user_id, EventType.CALL_TRANSCRIPT,
                               {"role": "learner", "text": "Hello there", "final": True,
                                "seq": 0}, call_id)
        ended = await log_event(runtime, user_id, EventType.CALL_ENDED, {
            "status": "ended", "endedReason": "customer-ended-call", "durationS": 125,
            "chargeMinor": 60, "currency": "USD"}, call_id)
        analysis_id = uuid.uuid4()
        ready = await log_event(runtime, user_id, EventType.ANALYSIS_READY, {
            "analysisId": str(analysis_id), "status": "done", "grammar": 71, "vocabulary": 64,
            "fluency": 58, "pronunciation": 60, "cefrLevel": "B1"}, call_id)
        got = await conn.events(op, 4, "callUpdates")

    # then only that call's four events arrive, in order
    for event in got:
        del event["at"]
    assert got == [
        {"__typename": "CallStatusChanged", "eventId": queued, "callId": call_gid,
         "status": "QUEUED", "previousStatus": "REQUESTED", "endedReason": None},
        {"__typename": "TranscriptLine", "eventId": line, "callId": call_gid,
         "role": "LEARNER", "text": "Hello there", "final": True, "seq": 0},
        {"__typename": "CallEnded", "eventId": ended, "callId": call_gid, "status": "ENDED",
         "endedReason": "customer-ended-call", "durationSeconds": 125, "chargeMinor": 60,
         "currency": "USD"},
        {"__typename": "AnalysisReady", "eventId": ready, "callId": call_gid,
         "analysisStatus": "done", "cefrLevel": "B1",
         "scores": {"grammar": 71, "vocabulary": 64, "fluency": 58, "pronunciation": 60}},
    ]


async def test_reconnect_with_after_replays_the_50_missed_events_once_then_goes_live(
    app: Starlette, client: httpx.AsyncClient, runtime: Runtime
) -> None:
    # given a dashboard that saw one event and then lost its connection
    user_id = await signed_in(client)
    start = await balance(runtime, user_id, 0)
    async with connect(app, cookies=client.cookies) as conn:
        await conn.init()
        op = await conn.subscribe(MY_EVENTS, {"after": start})
        seen = await balance(runtime, user_id, 1)
        assert [e["eventId"] for e in await conn.events(op, 1, "myEvents")] == [seen]
    missed = [await balance(runtime, user_id, 10 + i) for i in range(50)]

    # when it reconnects with the last eventId it saw
    async with connect(app, cookies=client.cookies) as conn:
        await conn.init()
        op = await conn.subscribe(MY_EVENTS, {"after": seen})
        replayed = await conn.events(op, 50, "myEvents")
        live = await balance(runtime, user_id, 99)
        sentinel = await balance(runtime, user_id, 100)
        after = await conn.events(op, 2, "myEvents")

    # then all 50 arrive once, in order, and live events follow with nothing repeated
    assert [e["eventId"] for e in replayed] == missed
    assert [e["amountMinor"] for e in replayed] == list(range(10, 60))
    assert [e["eventId"] for e in after] == [live, sentinel]


async def test_events_logged_during_a_long_replay_arrive_once_with_no_gap(
    app: Starlette, client: httpx.AsyncClient, runtime: Runtime
) -> None:
    # given a backlog longer than one replay page
    user_id = await signed_in(client)
    start = await balance(runtime, user_id, 0)
    async with UnitOfWork(runtime.services.effects) as uow:
        backlog = [str((await uow.emit(user_id=user_id, type=EventType.BALANCE_CHANGED, payload={
            "amountMinor": i, "currency": "USD", "deltaMinor": 1, "kind": "top_up"})).id)
            for i in range(450)]

    async with connect(app, cookies=client.cookies) as conn:
        await conn.init()
        # when more events are logged while the backlog is being replayed
        op = await conn.subscribe(MY_EVENTS, {"after": start})
        first = await conn.events(op, 1, "myEvents")
        during = [await balance(runtime, user_id, 1000 + i) for i in range(30)]
        rest = await conn.events(op, 449 + 30, "myEvents")
        sentinel = await balance(runtime, user_id, 5000)
        last = await conn.events(op, 1, "myEvents")

    # then every event arrives exactly once, in log order
    assert [e["eventId"] for e in first + rest + last] == backlog + during + [sentinel]


async def test_live_only_subscription_starts_at_now(
    app: Starlette, client: httpx.AsyncClient, runtime: Runtime
) -> None:
    # given a learner with history
    user_id = await signed_in(client)
    await balance(runtime, user_id, 1)

    async with connect(app, cookies=client.cookies) as conn:
        await conn.init()
        # when subscribing without `after`, the history is not replayed
        op = await conn.subscribe(MY_EVENTS)
        first = await go_live(conn, op, runtime, user_id)
        nxt = await balance(runtime, user_id, 3)
        got = await conn.events(op, 1, "myEvents")

    # then new events arrive from the moment it was live
    assert int(first) > 0
    assert [e["eventId"] for e in got] == [nxt]


async def go_live(conn: Any, op: str, runtime: Runtime, user_id: UUID) -> str:
    """Log marker events until the live-only subscription delivers one; returns its id.

    A live subscription only sees what is logged after it started, and the protocol has no
    "subscribed" acknowledgement, so the first delivered marker is the proof that it is live.
    """
    emitted: list[str] = []
    while True:
        emitted.append(await balance(runtime, user_id, 2))
        try:
            payload = await conn.next_data(op, timeout=0.3)
        except TimeoutError:
            continue
        got = payload["data"]["myEvents"]["eventId"]
        for _ in emitted[emitted.index(got) + 1:]:
            await conn.next_data(op)
        return str(emitted[-1])


async def test_a_learner_never_receives_another_learners_events(
    app: Starlette, client: httpx.AsyncClient, new_client: Any, runtime: Runtime
) -> None:
    # given two learners, the first subscribed to everything of theirs
    user_id = await signed_in(client)
    async with new_client() as other_client:
        other_id = await signed_in(other_client)
    other_call = await new_call(other_id)
    start = await balance(runtime, user_id, 0)

    async with connect(app, cookies=client.cookies) as conn:
        await conn.init()
        op = await conn.subscribe(MY_EVENTS, {"after": start})
        # when the other learner's balance and call change, and then the first learner's
        await balance(runtime, other_id, 7)
        await log_event(runtime, other_id, EventType.CALL_STATUS_CHANGED,
                        {"status": "queued", "previousStatus": "requested"}, other_call)
        own = await balance(runtime, user_id, 8)
        got = await conn.events(op, 1, "myEvents")

    # then only the first learner's own event arrives
    assert [(e["eventId"], e["amountMinor"]) for e in got] == [(own, 8)]


async def test_call_updates_on_another_learners_call_is_not_found(
    app: Starlette, client: httpx.AsyncClient, new_client: Any, runtime: Runtime
) -> None:
    # given another learner's call with events
    await signed_in(client)
    async with new_client() as other_client:
        other_id = await signed_in(other_client)
    other_call = await new_call(other_id)
    await log_event(runtime, other_id, EventType.CALL_STATUS_CHANGED,
                    {"status": "queued", "previousStatus": "requested"}, other_call)

    async with connect(app, cookies=client.cookies) as conn:
        await conn.init()
        # when the first learner subscribes to it, even replaying from the start
        op = await conn.subscribe(CALL_UPDATES, {"callId": encode("Call", other_call),
                                                 "after": "0"})
        message = await conn.receive()
        unknown = await conn.subscribe(CALL_UPDATES, {"callId": encode("Call", uuid.uuid4())})
        unknown_message = await conn.receive()
        malformed = await conn.subscribe(CALL_UPDATES, {"callId": "not-an-id"})
        malformed_message = await conn.receive()

    # then it is refused exactly like a call that does not exist, and nothing is streamed
    refusal = [{"message": "No such call.", "locations": [{"line": 3, "column": 3}],
                "path": ["callUpdates"], "extensions": {"code": "NOT_FOUND", "field": "callId"}}]
    assert message == {"id": op, "type": "error", "payload": refusal}
    assert unknown_message == {"id": unknown, "type": "error", "payload": refusal}
    assert malformed_message == {"id": malformed, "type": "error", "payload": refusal}


async def test_bad_after_is_a_typed_error(app: Starlette, client: httpx.AsyncClient) -> None:
    await signed_in(client)

    async with connect(app, cookies=client.cookies) as conn:
        await conn.init()
        op = await conn.subscribe(MY_EVENTS, {"after": "-1"})
        message = await conn.receive()

    assert message == {"id": op, "type": "error", "payload": [{
        "message": "`after` must be an eventId you received.",
        "locations": [{"line": 3, "column": 3}], "path": ["myEvents"],
        "extensions": {"code": "BAD_USER_INPUT", "field": "after"}}]}


async def test_subscription_over_plain_http_is_a_typed_error(client: httpx.AsyncClient) -> None:
    await signed_in(client)

    response = await client.post("/graphql", json={"query": MY_EVENTS})

    body = response.json()
    assert body.get("data") is None
    assert body["errors"] == [{
        "message": "Subscriptions are served over WebSocket (graphql-transport-ws) at /graphql.",
        "extensions": {"code": "BAD_USER_INPUT"}}]


async def test_my_events_carries_privacy_request_updates(
    app: Starlette, client: httpx.AsyncClient, runtime: Runtime
) -> None:
    # given a learner subscribed to everything of theirs
    user_id = await signed_in(client)
    start = await balance(runtime, user_id, 0)
    request_id = uuid.uuid4()

    async with connect(app, cookies=client.cookies) as conn:
        await conn.init()
        op = await conn.subscribe(MY_EVENTS, {"after": start})
        # when one of their privacy requests changes
        updated = await log_event(runtime, user_id, EventType.PRIVACY_REQUEST_UPDATED, {
            "requestId": str(request_id), "kind": "access", "status": "completed"})
        got = await conn.events(op, 1, "myEvents")

    del got[0]["at"]
    assert got == [{"__typename": "PrivacyRequestUpdated", "eventId": updated,
                    "requestId": encode("PrivacyRequest", request_id), "requestKind": "access",
                    "requestStatus": "completed"}]
