"""Automatic persisted queries (hash miss, then hit, over POST and GET) and allow-list mode."""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import Any

import httpx
from starlette.applications import Starlette

from db.models.accounts import User
from schema.ids import decode_uuid
from tests.api.conftest import MakeApp, client_of
from tests.conftest import gql, register

REGISTER_DOC = """
mutation($document: String!, $name: String) {
  registerPersistedQuery(document: $document, name: $name) {
  __typename ... on PersistedQuery { sha256Hash name }
  ... on RegisterPersistedQueryError { code message field } } }
"""


def sha(document: str) -> str:
    return hashlib.sha256(document.encode()).hexdigest()


def apq(document_hash: str) -> dict[str, Any]:
    return {"persistedQuery": {"version": 1, "sha256Hash": document_hash}}


def unique_document() -> str:
    return f"query Probe{uuid.uuid4().hex[:10]} {{ __typename }}"


async def test_hash_miss_then_full_document_then_hit_over_post(client: httpx.AsyncClient) -> None:
    document = unique_document()

    miss = await client.post("/graphql", json={"extensions": apq(sha(document))})
    full = await client.post("/graphql", json={"query": document, "extensions": apq(sha(document))})
    hit = await client.post("/graphql", json={"extensions": apq(sha(document))})

    assert (miss.status_code, miss.json()) == (200, {"errors": [{
        "message": "PersistedQueryNotFound",
        "extensions": {"code": "PERSISTED_QUERY_NOT_FOUND"}}]})
    assert full.json() == {"data": {"__typename": "Query"}}
    assert hit.json() == {"data": {"__typename": "Query"}}


async def test_hash_miss_then_hit_over_get(client: httpx.AsyncClient) -> None:
    document = unique_document()
    params = {"extensions": json.dumps(apq(sha(document)))}

    miss = await client.get("/graphql", params=params, headers={"accept": "*/*"})
    await client.get("/graphql", params={**params, "query": document})
    hit = await client.get("/graphql", params=params, headers={"accept": "*/*"})

    assert miss.json()["errors"][0]["extensions"] == {"code": "PERSISTED_QUERY_NOT_FOUND"}
    assert hit.json() == {"data": {"__typename": "Query"}}


async def test_miss_is_400_under_graphql_response_json(client: httpx.AsyncClient) -> None:
    response = await client.post("/graphql", json={"extensions": apq(sha(unique_document()))},
                                 headers={"accept": "application/graphql-response+json"})

    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"] == {"code": "PERSISTED_QUERY_NOT_FOUND"}


async def test_wrong_hash_is_refused_and_not_cached(client: httpx.AsyncClient) -> None:
    document, other = unique_document(), unique_document()

    mismatch = await client.post("/graphql",
                                 json={"query": document, "extensions": apq(sha(other))})
    later = await client.post("/graphql", json={"extensions": apq(sha(other))})

    assert mismatch.status_code == 400
    assert mismatch.json() == {"errors": [{
        "message": "provided sha does not match query",
        "extensions": {"code": "PERSISTED_QUERY_HASH_MISMATCH"}}]}
    assert later.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"


async def test_invalid_document_is_not_cached(client: httpx.AsyncClient) -> None:
    document = "{ noSuchField }"

    await client.post("/graphql", json={"query": document, "extensions": apq(sha(document))})
    later = await client.post("/graphql", json={"extensions": apq(sha(document))})

    assert later.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"


async def admin(client: httpx.AsyncClient) -> None:
    me = await register(client)
    await User.filter(id=decode_uuid(me["user"]["id"], "User")).update(role="admin")


async def production_key(client: httpx.AsyncClient) -> str:
    body = await gql(client, """mutation { createApiKey(name: "prod", scopes: [PROFILE_READ],
        production: true) { ... on ApiKeyCreated { secret } } }""")
    return str(body["data"]["createApiKey"]["secret"])


async def test_production_key_runs_only_registered_documents(
    app: Starlette, client: httpx.AsyncClient, new_client: Any
) -> None:
    await register(client)
    secret = await production_key(client)
    document = f"query PartnerMe{uuid.uuid4().hex[:8]} {{ me {{ email }} }}"

    async with client_of(app, authorization=f"Bearer {secret}") as partner:
        refused = await partner.post("/graphql", json={"query": document})
        async with new_client() as ops:
            await admin(ops)
            registered = (await gql(ops, REGISTER_DOC, {"document": document, "name": "partner"}))
        by_text = await partner.post("/graphql", json={"query": document})
        by_hash = await partner.post("/graphql", json={"extensions": apq(sha(document))})
        other = await partner.post("/graphql", json={"query": "{ me { id } }"})

    assert refused.json() == {"errors": [{
        "message": "Only registered documents may run for this caller: register it first (an "
                   "admin's `registerPersistedQuery`), then send its hash.",
        "extensions": {"code": "PERSISTED_QUERY_NOT_ALLOWED"}}]}
    assert registered["data"]["registerPersistedQuery"] == {
        "__typename": "PersistedQuery", "sha256Hash": sha(document), "name": "partner"}
    assert by_text.json()["data"]["me"]["email"].endswith("@example.com")
    assert by_hash.json() == by_text.json()
    assert other.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_ALLOWED"


async def test_allow_list_mode_for_everyone(make_app: MakeApp) -> None:
    app = make_app(persisted_queries_only=True)

    async with client_of(app) as c:
        response = await c.post("/graphql", json={"query": unique_document()})

    assert response.json()["errors"][0]["extensions"] == {"code": "PERSISTED_QUERY_NOT_ALLOWED"}


async def test_only_admins_register_and_documents_must_validate(
    client: httpx.AsyncClient, new_client: Any
) -> None:
    await register(client)
    learner = await gql(client, REGISTER_DOC, {"document": "{ __typename }"}, expect_errors=True)

    async with new_client() as ops:
        await admin(ops)
        invalid = (await gql(ops, REGISTER_DOC, {"document": "{ qqqqqqqq }"}))["data"]

    assert learner["errors"][0]["extensions"] == {"code": "FORBIDDEN"}
    assert learner["data"] is None
    assert invalid["registerPersistedQuery"] == {
        "__typename": "RegisterPersistedQueryError", "code": "INVALID_DOCUMENT",
        "field": "document",
        "message": "The document does not validate: Cannot query field 'qqqqqqqq' on type 'Query'."}
