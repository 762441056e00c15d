"""The topic catalog over GraphQL: the seeded topics, level filtering, paging, admin curation."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from db.models.accounts import User
from schema.ids import decode_uuid, encode
from tests.conftest import gql, register

LEVELS = ["A1", "A2", "B1", "B2", "C1", "C2"]
TOPIC_FIELDS = "id title description levelMin levelMax active coachInstructions"
TOPICS = f"""
query($level: CefrLevel, $first: Int, $after: String) {{
  topics(level: $level, first: $first, after: $after) {{
    edges {{ cursor node {{ {TOPIC_FIELDS} }} }}
    pageInfo {{ hasNextPage hasPreviousPage startCursor endCursor }}
  }}
}}"""
ADD_TOPIC = f"""
mutation($input: AddTopicInput!) {{ addTopic(input: $input) {{
  __typename
  ... on Topic {{ {TOPIC_FIELDS} }}
  ... on AddTopicError {{ code field message }}
}} }}"""
RETIRE_TOPIC = """
mutation($id: ID!) { retireTopic(id: $id) {
  __typename
  ... on Topic { id active }
  ... on RetireTopicError { code field message }
} }"""


async def signed_in(client: httpx.AsyncClient, role: str = "learner") -> uuid.UUID:
    """Register on ``client``; staff roles are granted in the database (there is no API)."""
    result = await register(client)
    user_id = decode_uuid(result["user"]["id"], "User")
    if role != "learner":
        await User.filter(id=user_id).update(role=role)
    return user_id


async def all_topics(client: httpx.AsyncClient, level: str | None = None) -> list[dict[str, Any]]:
    nodes: list[dict[str, Any]] = []
    after = None
    while True:
        page = (await gql(client, TOPICS, {"level": level, "first": 100, "after": after}))
        conn = page["data"]["topics"]
        nodes += [edge["node"] for edge in conn["edges"]]
        if not conn["pageInfo"]["hasNextPage"]:
            return nodes
        after = conn["pageInfo"]["endCursor"]


def new_topic_input(**overrides: Any) -> dict[str, Any]:
    return {
        "title": f"Airport small talk {uuid.uuid4().hex[:8]}",
        "description": "Chat with a stranger while your flight is delayed.",
        "levelMin": "A2",
        "levelMax": "B1",
        "coachInstructions": "Play a fellow passenger at the gate. Keep it light and friendly.",
        **overrides,
    }


async def test_seeded_catalog_covers_a2_to_c1_with_real_topics(client: httpx.AsyncClient) -> None:
    topics = await all_topics(client)

    titles = {t["title"] for t in topics}
    assert len(topics) >= 12
    assert {"Job interview", "Taking part in a business meeting", "Small talk with someone new",
            "Travel: hotels, tickets and directions"} <= titles
    for level in ("A2", "B1", "B2", "C1"):
        assert any(t["levelMin"] <= level <= t["levelMax"] for t in topics), level
    for topic in topics:
        assert topic["active"] is True
        assert len(topic["description"]) >= 10
        assert LEVELS.index(topic["levelMin"]) <= LEVELS.index(topic["levelMax"])
        assert topic["coachInstructions"] is None  # anonymous: prompt text is admin-only


async def test_level_filter_returns_exactly_the_topics_whose_range_includes_it(
    client: httpx.AsyncClient,
) -> None:
    everything = await all_topics(client)

    for level in ("A2", "B1", "C1", "C2"):
        expected = [t for t in everything
                    if LEVELS.index(t["levelMin"]) <= LEVELS.index(level)
                    <= LEVELS.index(t["levelMax"])]
        assert await all_topics(client, level) == expected
    assert "Debate: technology and society" not in {t["title"] for t in
                                                    await all_topics(client, "A2")}


async def test_catalog_pages_are_disjoint_and_in_order(client: httpx.AsyncClient) -> None:
    everything = await all_topics(client)

    first = (await gql(client, TOPICS, {"first": 5}))["data"]["topics"]
    second = (await gql(client, TOPICS, {"first": 5, "after": first["pageInfo"]["endCursor"]}))[
        "data"]["topics"]

    assert [e["node"] for e in first["edges"] + second["edges"]] == everything[:10]
    assert first["pageInfo"]["hasPreviousPage"] is False
    assert second["pageInfo"]["hasPreviousPage"] is True
    assert second["pageInfo"]["hasNextPage"] is True
    assert [t["levelMin"] for t in everything] == sorted(t["levelMin"] for t in everything)


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ({"first": 0}, "`first` must be between 1 and 100."),
        ({"first": 101}, "`first` must be between 1 and 100."),
        ({"after": "not-a-cursor!"}, "Invalid cursor."),
    ],
)
async def test_bad_paging_arguments_are_typed_errors(
    client: httpx.AsyncClient, variables: dict[str, Any], message: str
) -> None:
    body = await gql(client, TOPICS, variables, expect_errors=True)

    assert body["data"] is None
    assert [(e["message"], e["extensions"]["code"]) for e in body["errors"]] == [
        (message, "BAD_USER_INPUT")
    ]


async def test_admin_adds_a_topic_that_learners_then_see(
    client: httpx.AsyncClient, new_client: Callable[[], httpx.AsyncClient]
) -> None:
    await signed_in(client, "admin")
    data = new_topic_input()

    added = (await gql(client, ADD_TOPIC, {"input": data}))["data"]["addTopic"]

    assert added["__typename"] == "Topic"
    assert {k: added[k] for k in ("title", "description", "levelMin", "levelMax", "active",
                                  "coachInstructions")} == {
        "title": data["title"], "description": data["description"], "levelMin": "A2",
        "levelMax": "B1", "active": True, "coachInstructions": data["coachInstructions"],
    }
    async with new_client() as learner:
        await signed_in(learner)
        seen = {t["id"]: t for t in await all_topics(learner, "B1")}
        assert seen[added["id"]]["title"] == data["title"]
        assert seen[added["id"]]["coachInstructions"] is None


@pytest.mark.parametrize(
    ("overrides", "code", "field", "message"),
    [
        ({"title": " a "}, "INVALID_TITLE", "title", "Give a title of 3 to 120 characters."),
        ({"title": "!!!!"}, "INVALID_TITLE", "title", "Give a title of 3 to 120 characters."),
        ({"description": "short"}, "INVALID_DESCRIPTION", "description",
         "Give a description of 10 to 1000 characters."),
        ({"coachInstructions": "Be nice."}, "INVALID_INSTRUCTIONS", "coachInstructions",
         "Give coach instructions of 20 to 4000 characters."),
        ({"levelMin": "C1", "levelMax": "B1"}, "INVALID_LEVEL_RANGE", "levelMax",
         "The highest level must not be below the lowest level."),
        ({"title": "Job Interview!"}, "TOPIC_EXISTS", "title",
         "A topic with this title already exists."),
    ],
)
async def test_invalid_topic_is_refused_and_nothing_is_added(
    client: httpx.AsyncClient, overrides: dict[str, Any], code: str, field: str, message: str
) -> None:
    await signed_in(client, "admin")
    before = await all_topics(client)

    result = (await gql(client, ADD_TOPIC, {"input": new_topic_input(**overrides)}))["data"][
        "addTopic"]

    assert result == {"__typename": "AddTopicError", "code": code, "field": field,
                      "message": message}
    assert await all_topics(client) == before


async def test_retired_topic_leaves_the_catalog_and_retiring_again_is_harmless(
    client: httpx.AsyncClient,
) -> None:
    await signed_in(client, "admin")
    added = (await gql(client, ADD_TOPIC, {"input": new_topic_input()}))["data"]["addTopic"]

    first = (await gql(client, RETIRE_TOPIC, {"id": added["id"]}))["data"]["retireTopic"]
    again = (await gql(client, RETIRE_TOPIC, {"id": added["id"]}))["data"]["retireTopic"]

    assert first == again == {"__typename": "Topic", "id": added["id"], "active": False}
    assert added["id"] not in {t["id"] for t in await all_topics(client)}


@pytest.mark.parametrize("bad_id", [encode("Topic", uuid.uuid4()), encode("User", uuid.uuid4()),
                                    "garbage"])
async def test_retiring_an_unknown_topic_is_not_found(
    client: httpx.AsyncClient, bad_id: str
) -> None:
    await signed_in(client, "admin")

    result = (await gql(client, RETIRE_TOPIC, {"id": bad_id}))["data"]["retireTopic"]

    assert result == {"__typename": "RetireTopicError", "code": "TOPIC_NOT_FOUND", "field": "id",
                      "message": "No such topic."}


@pytest.mark.parametrize(
    ("role", "code"),
    [(None, "UNAUTHENTICATED"), ("learner", "FORBIDDEN"), ("support", "FORBIDDEN")],
)
async def test_only_admins_curate_the_catalog(
    client: httpx.AsyncClient, role: str | None, code: str
) -> None:
    if role is not None:
        await signed_in(client, role)
    seeded = (await all_topics(client))[0]
    data = new_topic_input()

    added = await gql(client, ADD_TOPIC, {"input": data}, expect_errors=True)
    retired = await gql(client, RETIRE_TOPIC, {"id": seeded["id"]}, expect_errors=True)

    for body in (added, retired):
        assert body["data"] is None
        assert [e["extensions"]["code"] for e in body["errors"]] == [code]
    titles = {t["title"] for t in await all_topics(client)}
    assert data["title"] not in titles
    assert seeded["title"] in titles
