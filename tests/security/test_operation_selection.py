"""Issue 13, finding 1: the operation that runs is chosen once, before any gate.

A document with several operations and no ``operationName`` used to slip past the API-key gate
(``get_operation_ast`` returned None, the gate checked nothing) while the first operation ran.
"""

from __future__ import annotations

import httpx
from starlette.applications import Starlette

from tests.api.conftest import client_of
from tests.api.test_api_keys import new_key
from tests.conftest import gql, register
from tests.gql_ws import connect

MULTI = ('mutation A { updateProfile(input: {phone: "+447911123469", fullName: "Changed By Key"})'
         ' { __typename } } query Z { topics(first: 1) { edges { node { id } } } }')
PROFILE = "{ me { fullName phone } }"


async def test_finding_01_multi_operation_without_name_is_refused(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    await register(client)
    key = (await new_key(client, ["TOPICS_READ"]))["secret"]

    async with client_of(app, authorization=f"Bearer {key}") as c:
        post = await c.post("/graphql", json={"query": MULTI})
        get = await c.get("/graphql", params={"query": MULTI})

    assert post.status_code == 400, post.text
    assert post.json()["errors"][0]["message"] == "Must provide operation name."
    assert "data" not in post.json()
    assert get.status_code == 400, get.text
    me = (await gql(client, PROFILE))["data"]["me"]
    assert me == {"fullName": "Ada Learner", "phone": "+447911123456"}


async def test_finding_01_a_session_can_still_pick_one_of_several_operations(
    client: httpx.AsyncClient
) -> None:
    await register(client)

    picked = await client.post("/graphql", json={"query": MULTI, "operationName": "Z"})
    unnamed = await client.post("/graphql", json={"query": MULTI})

    assert picked.status_code == 200 and "topics" in picked.json()["data"]
    assert unnamed.status_code == 400
    me = (await gql(client, PROFILE))["data"]["me"]
    assert me["fullName"] == "Ada Learner"


async def test_finding_01_the_key_gate_sees_the_named_operation(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    await register(client)
    key = (await new_key(client, ["TOPICS_READ"]))["secret"]

    async with client_of(app, authorization=f"Bearer {key}") as c:
        mutation = await c.post("/graphql", json={"query": MULTI, "operationName": "A"})
        query = await c.post("/graphql", json={"query": MULTI, "operationName": "Z"})

    assert mutation.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert "data" not in mutation.json()
    assert query.json()["data"]["topics"]["edges"]
    me = (await gql(client, PROFILE))["data"]["me"]
    assert me["fullName"] == "Ada Learner"


async def test_finding_01_multi_operation_over_websocket_is_refused(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    await register(client)
    key = (await new_key(client, ["TOPICS_READ"]))["secret"]

    async with connect(app) as conn:
        assert (await conn.init({"authorization": f"Bearer {key}"}))["type"] == "connection_ack"
        op_id = await conn.subscribe(MULTI)
        message = await conn.receive()

    assert message == {"id": op_id, "type": "error", "payload": [{
        "message": "Must provide operation name.", "extensions": {"code": "BAD_USER_INPUT"}}]}
    me = (await gql(client, PROFILE))["data"]["me"]
    assert me == {"fullName": "Ada Learner", "phone": "+447911123456"}
