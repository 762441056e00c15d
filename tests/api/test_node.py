"""``node(id:)`` resolves global IDs of what the caller may see, and null for anything else."""

from __future__ import annotations

from typing import Any

import httpx
from starlette.applications import Starlette

from tests.api.conftest import client_of
from tests.conftest import gql, register

NODE = """
query($id: ID!) { node(id: $id) {
  __typename id ... on User { email } ... on Session { current } } }
"""


async def node(client: httpx.AsyncClient, id: str) -> Any:
    return (await gql(client, NODE, {"id": id}))["data"]["node"]


async def test_own_user_and_session_resolve(client: httpx.AsyncClient) -> None:
    me = await register(client)

    user = await node(client, me["user"]["id"])
    session = await node(client, me["session"]["id"])

    assert user == {"__typename": "User", "id": me["user"]["id"], "email": me["user"]["email"]}
    assert session == {"__typename": "Session", "id": me["session"]["id"], "current": True}


async def test_another_learners_objects_are_null(
    client: httpx.AsyncClient, new_client: Any
) -> None:
    me = await register(client)

    async with new_client() as other:
        await register(other)
        assert await node(other, me["user"]["id"]) is None
        assert await node(other, me["session"]["id"]) is None


async def test_anonymous_and_malformed_ids_are_null(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    me = await register(client)

    async with client_of(app) as anonymous:
        assert await node(anonymous, me["user"]["id"]) is None
    assert await node(client, "not-a-global-id") is None
    assert await node(client, "VXNlcjpub3QtYS11dWlk") is None  # "User:not-a-uuid"
