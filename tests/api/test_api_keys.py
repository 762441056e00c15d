"""API keys: the secret is shown once and stored hashed, scopes limit what a key may do, a
revoked key is refused at once, and every use is attributable in the logs."""

from __future__ import annotations

import hashlib
import logging
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from db.models.api_keys import ApiKey
from schema.ids import decode_uuid
from tests.api.conftest import client_of
from tests.conftest import gql, register

CREATE = """
mutation($name: String!, $scopes: [ApiKeyScope!], $production: Boolean! = false) {
  createApiKey(name: $name, scopes: $scopes, production: $production) {
    __typename
    ... on ApiKeyCreated { secret apiKey { id name prefix scopes production revokedAt } }
    ... on CreateApiKeyError { code message field }
  }
}
"""
REVOKE = """
mutation($id: ID!) { revokeApiKey(id: $id) {
  __typename ... on ApiKey { id revokedAt } ... on RevokeApiKeyError { code message field } } }
"""
ME = "{ me { id email } }"


async def new_key(client: httpx.AsyncClient, scopes: list[str] | None = None,
                  name: str = "Partner dashboard") -> dict[str, Any]:
    body = await gql(client, CREATE, {"name": name, "scopes": scopes})
    created: dict[str, Any] = body["data"]["createApiKey"]
    assert created["__typename"] == "ApiKeyCreated", created
    return created


async def as_key(app: Starlette, secret: str, query: str,
                 variables: dict[str, Any] | None = None) -> httpx.Response:
    async with client_of(app, authorization=f"Bearer {secret}") as c:
        return await c.post("/graphql", json={"query": query, "variables": variables or {}})


async def test_create_shows_the_secret_once_and_stores_only_its_hash(
    client: httpx.AsyncClient,
) -> None:
    await register(client)

    created = await new_key(client)

    secret, key = created["secret"], created["apiKey"]
    assert secret.startswith("cfk_") and len(secret) == 47
    assert key["prefix"] == secret[:12]
    assert key["scopes"] == ["CALLS_READ", "PROGRESS_READ"]
    assert (key["name"], key["production"], key["revokedAt"]) == ("Partner dashboard", False, None)
    row = await ApiKey.get(id=decode_uuid(key["id"], "ApiKey"))
    assert row.secret_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in str(row.__dict__.values())
    listed = (await gql(client, "{ apiKeys { id prefix } }"))["data"]["apiKeys"]
    assert listed == [{"id": key["id"], "prefix": key["prefix"]}]


async def test_bad_names_and_scopes_are_typed_errors_and_create_nothing(
    client: httpx.AsyncClient,
) -> None:
    await register(client)

    blank = (await gql(client, CREATE, {"name": "  "}))["data"]["createApiKey"]
    unknown = await gql(client, CREATE, {"name": "x", "scopes": ["ROOT"]}, expect_errors=True)

    assert blank == {"__typename": "CreateApiKeyError", "code": "INVALID_NAME",
                     "field": "name", "message": "Name must be 1 to 100 characters."}
    assert "data" not in unknown  # an unknown enum value fails validation
    assert (await gql(client, "{ apiKeys { id } }"))["data"]["apiKeys"] == []


async def test_key_reaches_only_what_its_scopes_allow(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    learner = await register(client)
    default_key = (await new_key(client))["secret"]
    profile_key = (await new_key(client, ["PROFILE_READ"]))["secret"]

    lacking = await as_key(app, default_key, ME)
    allowed = await as_key(app, profile_key, ME)
    session_only = await as_key(app, profile_key, "{ sessions { id } }")
    mutation = await as_key(app, profile_key, CREATE, {"name": "minted by a key"})

    assert lacking.json() == {"errors": [{
        "message": "This API key lacks the 'profile:read' scope.",
        "extensions": {"code": "FORBIDDEN", "field": "me", "scope": "profile:read"}}]}
    assert allowed.json() == {"data": {"me": {"id": learner["user"]["id"],
                                              "email": learner["user"]["email"]}}}
    assert session_only.json()["errors"][0] == {
        "message": "API keys cannot use `sessions`: sign in to do this.",
        "extensions": {"code": "FORBIDDEN", "field": "sessions"}}
    assert mutation.json()["errors"][0]["extensions"] == {
        "code": "FORBIDDEN", "field": "createApiKey"}
    assert len((await gql(client, "{ apiKeys { id } }"))["data"]["apiKeys"]) == 2


async def test_refusal_is_403_under_graphql_response_json(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    await register(client)
    secret = (await new_key(client))["secret"]

    async with client_of(app, authorization=f"Bearer {secret}",
                         accept="application/graphql-response+json") as c:
        response = await c.post("/graphql", json={"query": ME})

    assert response.status_code == 403
    assert "data" not in response.json()


async def test_revoked_key_is_refused_at_once(app: Starlette, client: httpx.AsyncClient) -> None:
    await register(client)
    created = await new_key(client, ["PROFILE_READ"])
    assert (await as_key(app, created["secret"], ME)).status_code == 200

    revoked = (await gql(client, REVOKE, {"id": created["apiKey"]["id"]}))["data"]["revokeApiKey"]
    refused = await as_key(app, created["secret"], ME)

    assert revoked["__typename"] == "ApiKey" and revoked["revokedAt"] is not None
    assert refused.status_code == 401
    assert refused.headers["www-authenticate"] == 'Bearer error="invalid_token"'
    assert refused.json() == {"errors": [{
        "message": "This API key is invalid or has been revoked.",
        "extensions": {"code": "UNAUTHENTICATED"}}]}


async def test_unknown_key_is_refused_not_anonymous(app: Starlette) -> None:
    refused = await as_key(app, "cfk_" + "A" * 43, "{ __typename }")

    assert refused.status_code == 401


async def test_another_learners_key_cannot_be_revoked(
    client: httpx.AsyncClient, new_client: Any
) -> None:
    await register(client)
    created = await new_key(client)

    async with new_client() as other:
        await register(other)
        result = (await gql(other, REVOKE, {"id": created["apiKey"]["id"]}))["data"]

    assert result["revokeApiKey"] == {"__typename": "RevokeApiKeyError", "code": "NOT_FOUND",
                                      "field": "id", "message": "No such API key."}
    row = await ApiKey.get(id=decode_uuid(created["apiKey"]["id"], "ApiKey"))
    assert row.revoked_at is None


async def test_a_key_cannot_manage_keys_even_through_node(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    await register(client)
    created = await new_key(client, ["PROFILE_READ"])

    response = await as_key(app, created["secret"], 'query($id: ID!) { node(id: $id) { id } }',
                            {"id": created["apiKey"]["id"]})

    assert response.json() == {"data": {"node": None}}


async def test_every_key_use_is_logged_with_its_id(
    app: Starlette, client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    await register(client)
    created = await new_key(client, ["PROFILE_READ"])
    key_id = str(decode_uuid(created["apiKey"]["id"], "ApiKey"))

    with caplog.at_level(logging.INFO, logger="callfluently.graphql"):
        await as_key(app, created["secret"], "query PartnerMe { me { id } }")

    [record] = [r for r in caplog.records if r.getMessage() == "graphql operation"]
    assert (record.api_key_id, record.operation, record.outcome) == (  # type: ignore[attr-defined]
        key_id, "PartnerMe", "ok")
