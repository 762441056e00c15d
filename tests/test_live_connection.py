"""WebSocket connection rules: authentication, origins, the subscription cap, keep-alive and the
slow-consumer cut-off, against the in-process app (httpx-ws)."""

from __future__ import annotations

import dataclasses
from typing import Any

import httpx
import pytest
from httpx_ws import WebSocketDisconnect
from starlette.applications import Starlette
from starlette.routing import WebSocketRoute

from domain.live import EventType
from domain.uow import UnitOfWork
from main import Runtime
from schema.ids import decode_uuid
from tests.conftest import gql, register
from tests.gql_ws import MY_EVENTS, connect
from tests.test_live_subscriptions import balance, signed_in
from web.graphql import GraphQLApp


def graphql_app(app: Starlette) -> GraphQLApp:
    route = next(r for r in app.routes if isinstance(r, WebSocketRoute) and r.path == "/graphql")
    endpoint = route.endpoint
    assert isinstance(endpoint, GraphQLApp)
    return endpoint


async def test_connection_without_credentials_is_closed_4403(app: Starlette) -> None:
    async with connect(app) as conn:
        await conn.ws.send_json({"type": "connection_init", "payload": {}})
        assert await conn.closed_with() == 4403


async def test_subscribing_before_connection_init_is_closed_4401(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    await signed_in(client)
    async with connect(app, cookies=client.cookies) as conn:
        await conn.subscribe(MY_EVENTS)
        assert await conn.closed_with() == 4401


@pytest.mark.parametrize("params", [
    {"authorization": "Bearer not-a-token"},
    {"accessToken": "not-a-token"},
])
async def test_bad_token_in_connection_init_is_closed_4403(
    app: Starlette, client: httpx.AsyncClient, params: dict[str, str]
) -> None:
    # a bad explicit token is refused even when the handshake carries a good cookie
    await signed_in(client)
    async with connect(app, cookies=client.cookies) as conn:
        await conn.ws.send_json({"type": "connection_init", "payload": params})
        assert await conn.closed_with() == 4403


@pytest.mark.parametrize("shape", ["bearer", "raw", "accessToken"])
async def test_token_in_connection_init_authenticates(
    app: Starlette, new_client: Any, runtime: Runtime, shape: str
) -> None:
    # given a learner's access token, and a socket with no cookie
    async with new_client() as browser:
        token = (await register(browser, delivery="BODY"))["accessToken"]
        user_id = await signed_in_user(browser)
    params = {"bearer": {"authorization": f"Bearer {token}"},
              "raw": {"Authorization": token},
              "accessToken": {"accessToken": token}}[shape]
    start = await balance(runtime, user_id, 0)

    async with connect(app) as conn:
        assert await conn.init(params) == {"type": "connection_ack"}
        op = await conn.subscribe(MY_EVENTS, {"after": start})
        event = await balance(runtime, user_id, 5)
        got = await conn.events(op, 1, "myEvents")

    assert [e["eventId"] for e in got] == [event]


async def test_bearer_header_on_the_handshake_authenticates(
    app: Starlette, new_client: Any
) -> None:
    async with new_client() as browser:
        token = (await register(browser, delivery="BODY"))["accessToken"]

    async with connect(app, headers={"authorization": f"Bearer {token}"}) as conn:
        assert await conn.init() == {"type": "connection_ack"}


async def test_signed_out_session_cannot_connect(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    # given a cookie whose session was ended
    await signed_in(client)
    cookies = httpx.Cookies(client.cookies)
    assert (await gql(client, "mutation { logout }"))["data"] == {"logout": True}

    async with connect(app, cookies=cookies) as conn:
        await conn.ws.send_json({"type": "connection_init", "payload": {}})
        assert await conn.closed_with() == 4403


async def test_foreign_browser_origin_is_refused_at_the_handshake(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    await signed_in(client)
    with pytest.raises(ExceptionGroup) as refused:
        async with connect(app, cookies=client.cookies,
                           headers={"origin": "https://evil.example"}):
            pass  # pragma: no cover - the handshake fails
    errors = refused.value.exceptions
    assert len(errors) == 1 and isinstance(errors[0], WebSocketDisconnect)
    assert errors[0].code == 1008


@pytest.mark.parametrize("headers", [{"origin": "http://testserver"}, {}])
async def test_allowed_origin_and_no_origin_connect(
    app: Starlette, client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    await signed_in(client)
    async with connect(app, cookies=client.cookies, headers=headers) as conn:
        assert await conn.init() == {"type": "connection_ack"}


async def test_subscriptions_per_connection_are_capped(
    app: Starlette, client: httpx.AsyncClient, runtime: Runtime,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given a cap of two subscriptions per connection
    monkeypatch.setattr(graphql_app(app), "subscription_cap", 2)
    user_id = await signed_in(client)
    start = await balance(runtime, user_id, 0)

    async with connect(app, cookies=client.cookies) as conn:
        await conn.init()
        first = await conn.subscribe(MY_EVENTS, {"after": start})
        second = await conn.subscribe(MY_EVENTS, {"after": start})
        # when a third is asked for
        third = await conn.subscribe(MY_EVENTS, {"after": start})
        refusal = await conn.receive()
        # then it is refused with a typed error, and the first two keep streaming
        event = await balance(runtime, user_id, 1)
        got = {m["id"]: m["payload"]["data"]["myEvents"]["eventId"]
               for m in [await conn.receive(), await conn.receive()]}

    assert refusal == {"id": third, "type": "error", "payload": [{
        "message": "At most 2 subscriptions may run on one connection.",
        "extensions": {"code": "TOO_MANY_SUBSCRIPTIONS", "limit": 2}}]}
    assert got == {first: event, second: event}


async def test_server_pings_and_closes_the_connection_when_the_session_ends(
    app: Starlette, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a short keep-alive interval
    monkeypatch.setattr(graphql_app(app), "keepalive_s", 0.05)
    await signed_in(client)

    async with connect(app, cookies=client.cookies) as conn:
        await conn.init()
        # the server pings an idle connection
        assert await conn.ws.receive_json(timeout=5) == {"type": "ping"}
        await conn.ws.send_json({"type": "pong"})
        # when the learner signs out, the live connection is closed as forbidden
        await gql(client, "mutation { logout }")
        code = await conn.closed_with()

    assert code == 4403


async def test_slow_consumer_is_cut_off_with_a_cursor_to_resume_from(
    app: Starlette, client: httpx.AsyncClient, runtime: Runtime,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given subscribers that may fall at most 5 events behind
    settings = runtime.services.settings
    monkeypatch.setattr(runtime.services, "settings",
                        dataclasses.replace(settings, live_queue_size=5))
    user_id = await signed_in(client)
    start = await balance(runtime, user_id, 0)

    async with connect(app, cookies=client.cookies) as conn:
        await conn.init()
        op = await conn.subscribe(MY_EVENTS, {"after": start})
        seen = await balance(runtime, user_id, 1)
        assert [e["eventId"] for e in await conn.events(op, 1, "myEvents")] == [seen]
        # when a burst of 10 events arrives faster than it is consumed
        async with UnitOfWork(runtime.services.effects) as uow:
            burst = [str((await uow.emit(user_id=user_id, type=EventType.BALANCE_CHANGED,
                                         payload={"amountMinor": i, "currency": "USD",
                                                  "deltaMinor": 1, "kind": "top_up"})).id)
                     for i in range(10)]
        cut = await conn.receive()
        done = await conn.receive()

        # then it is stopped with the last delivered id, and resuming from it loses nothing
        resumed = await conn.subscribe(MY_EVENTS, {"after": cut["payload"]["errors"][0][
            "extensions"]["lastEventId"]})
        monkeypatch.setattr(runtime.services, "settings", settings)
        again = await conn.events(resumed, 10, "myEvents")

    assert cut == {"id": op, "type": "next", "payload": {"data": None, "errors": [{
        "message": "This subscription fell too far behind and was stopped. Subscribe again "
                   "with `after` set to the last eventId you received.",
        "extensions": {"code": "SLOW_CONSUMER", "lastEventId": seen}}]}}
    assert done == {"id": op, "type": "complete"}
    assert [e["eventId"] for e in again] == burst


async def signed_in_user(client: httpx.AsyncClient) -> Any:
    me = await gql(client, "{ me { id } }")
    return decode_uuid(me["data"]["me"]["id"], "User")


CREATE_KEY = """
mutation($scopes: [ApiKeyScope!]) { createApiKey(name: "Live dashboard", scopes: $scopes) {
  __typename ... on ApiKeyCreated { secret apiKey { id } } } }
"""
REVOKE_KEY = "mutation($id: ID!) { revokeApiKey(id: $id) { __typename } }"


async def test_api_key_in_connection_init_is_limited_to_its_scopes(
    app: Starlette, client: httpx.AsyncClient, runtime: Runtime
) -> None:
    # given a key that may read calls but not every event
    user_id = await signed_in(client)
    key = (await gql(client, CREATE_KEY, {"scopes": ["CALLS_READ"]}))["data"]["createApiKey"]
    start = await balance(runtime, user_id, 0)

    async with connect(app) as conn:
        assert await conn.init({"authorization": f"Bearer {key['secret']}"}) == {
            "type": "connection_ack"}
        # when it asks for every event of the learner
        op = await conn.subscribe(MY_EVENTS, {"after": start})
        message = await conn.receive()

    # then it is refused for lack of the scope
    assert message["id"] == op and message["type"] == "error"
    assert [e["extensions"] for e in message["payload"]] == [
        {"code": "FORBIDDEN", "field": "myEvents", "scope": "events:read"}]


async def test_revoked_api_key_cannot_connect_and_revocation_ends_a_live_connection(
    app: Starlette, client: httpx.AsyncClient, runtime: Runtime,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given a key allowed to read events, connected, with pings every 50 ms
    monkeypatch.setattr(graphql_app(app), "keepalive_s", 0.05)
    user_id = await signed_in(client)
    key = (await gql(client, CREATE_KEY, {"scopes": ["EVENTS_READ"]}))["data"]["createApiKey"]
    auth = {"authorization": f"Bearer {key['secret']}"}
    start = await balance(runtime, user_id, 0)

    async with connect(app) as conn:
        await conn.init(auth)
        op = await conn.subscribe(MY_EVENTS, {"after": start})
        event = await balance(runtime, user_id, 1)
        assert [e["eventId"] for e in await conn.events(op, 1, "myEvents")] == [event]
        # when the learner revokes it, the open connection is closed
        await gql(client, REVOKE_KEY, {"id": key["apiKey"]["id"]})
        assert await conn.closed_with() == 4403

    # and a new connection with it is refused
    async with connect(app) as conn:
        await conn.ws.send_json({"type": "connection_init", "payload": auth})
        assert await conn.closed_with() == 4403
