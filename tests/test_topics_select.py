"""A learner chooses topics (`selectTopics`) and reads them back on `me { topics }`."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from schema.ids import encode
from tests.conftest import gql
from tests.test_topics_catalog import (
    ADD_TOPIC,
    RETIRE_TOPIC,
    all_topics,
    new_topic_input,
    signed_in,
)

SELECT = """
mutation($ids: [ID!]!) { selectTopics(topicIds: $ids) {
  __typename
  ... on User { topics { id title } }
  ... on SelectTopicsError { code field message }
} }"""
MY_TOPICS = "{ me { topics { id title } } }"


async def my_topics(client: httpx.AsyncClient) -> list[dict[str, Any]]:
    topics: list[dict[str, Any]] = (await gql(client, MY_TOPICS))["data"]["me"]["topics"]
    return topics


async def test_selection_replaces_the_previous_one_and_keeps_order(
    client: httpx.AsyncClient,
) -> None:
    await signed_in(client)
    catalog = await all_topics(client)
    a, b, c = catalog[0], catalog[3], catalog[7]
    assert await my_topics(client) == []

    first = (await gql(client, SELECT, {"ids": [a["id"], b["id"], a["id"]]}))["data"][
        "selectTopics"]
    second = (await gql(client, SELECT, {"ids": [c["id"], b["id"]]}))["data"]["selectTopics"]

    pick = lambda t: {"id": t["id"], "title": t["title"]}  # noqa: E731
    assert first == {"__typename": "User", "topics": [pick(a), pick(b)]}
    assert second == {"__typename": "User", "topics": [pick(b), pick(c)]}  # b kept its place
    assert await my_topics(client) == [pick(b), pick(c)]


async def test_empty_selection_clears_it(client: httpx.AsyncClient) -> None:
    await signed_in(client)
    catalog = await all_topics(client)
    await gql(client, SELECT, {"ids": [catalog[0]["id"]]})

    cleared = (await gql(client, SELECT, {"ids": []}))["data"]["selectTopics"]

    assert cleared == {"__typename": "User", "topics": []}


async def test_selections_are_per_learner(
    client: httpx.AsyncClient, new_client: Callable[[], httpx.AsyncClient]
) -> None:
    await signed_in(client)
    catalog = await all_topics(client)
    await gql(client, SELECT, {"ids": [catalog[1]["id"]]})

    async with new_client() as other:
        await signed_in(other)
        assert await my_topics(other) == []
    assert [t["id"] for t in await my_topics(client)] == [catalog[1]["id"]]


@pytest.mark.parametrize(
    "make_ids",
    [
        lambda catalog: [catalog[0]["id"], encode("Topic", uuid.uuid4())],
        lambda catalog: [catalog[0]["id"], encode("Call", uuid.uuid4())],
        lambda catalog: ["not-an-id"],
    ],
)
async def test_unknown_topic_is_refused_and_the_selection_is_unchanged(
    client: httpx.AsyncClient, make_ids: Callable[[list[dict[str, Any]]], list[str]]
) -> None:
    await signed_in(client)
    catalog = await all_topics(client)
    await gql(client, SELECT, {"ids": [catalog[2]["id"]]})
    before = await my_topics(client)

    result = (await gql(client, SELECT, {"ids": make_ids(catalog)}))["data"]["selectTopics"]

    assert result == {
        "__typename": "SelectTopicsError", "code": "TOPIC_NOT_FOUND", "field": "topicIds",
        "message": "One of the chosen topics does not exist or has been retired.",
    }
    assert await my_topics(client) == before


async def test_more_than_ten_topics_is_refused(client: httpx.AsyncClient) -> None:
    await signed_in(client)
    catalog = await all_topics(client)
    assert len(catalog) >= 11

    result = (await gql(client, SELECT, {"ids": [t["id"] for t in catalog[:11]]}))["data"][
        "selectTopics"]

    assert result == {"__typename": "SelectTopicsError", "code": "TOO_MANY_TOPICS",
                      "field": "topicIds", "message": "Choose at most 10 topics."}
    assert await my_topics(client) == []


async def test_retired_topic_drops_out_of_selections_and_cannot_be_chosen(
    client: httpx.AsyncClient, new_client: Callable[[], httpx.AsyncClient]
) -> None:
    async with new_client() as admin:
        await signed_in(admin, "admin")
        topic = (await gql(admin, ADD_TOPIC, {"input": new_topic_input()}))["data"]["addTopic"]
        await signed_in(client)
        keep = next(t for t in await all_topics(client) if t["title"] == "Job interview")
        await gql(client, SELECT, {"ids": [topic["id"], keep["id"]]})

        await gql(admin, RETIRE_TOPIC, {"id": topic["id"]})

    assert [t["id"] for t in await my_topics(client)] == [keep["id"]]
    again = (await gql(client, SELECT, {"ids": [topic["id"]]}))["data"]["selectTopics"]
    assert again["__typename"] == "SelectTopicsError"
    assert again["code"] == "TOPIC_NOT_FOUND"


async def test_selecting_requires_sign_in(client: httpx.AsyncClient) -> None:
    catalog = await all_topics(client)

    body = await gql(client, SELECT, {"ids": [catalog[0]["id"]]}, expect_errors=True)

    assert body["data"] is None
    assert [(e["message"], e["extensions"]["code"]) for e in body["errors"]] == [
        ("Sign in to do this.", "UNAUTHENTICATED")
    ]
