"""Rate limits per IP, per learner and per API key: a typed RATE_LIMITED error with retry-after,
and nothing runs when refused. The Redis-backed limiter holds across processes."""

from __future__ import annotations

from typing import Any

import httpx
from starlette.applications import Starlette

from tests.api.conftest import MakeApp, client_of
from tests.conftest import gql, register, unique_ip

TYPENAME = {"query": "{ __typename }"}


async def test_ip_bucket_refuses_with_retry_after(make_app: MakeApp) -> None:
    app = make_app(rate_per_minute_ip=3)
    ip = unique_ip()

    async with client_of(app, ip) as c:
        allowed = [(await c.post("/graphql", json=TYPENAME)).json() for _ in range(3)]
        refused = await c.post("/graphql", json=TYPENAME)
        strict = await c.post("/graphql", json=TYPENAME,
                              headers={"accept": "application/graphql-response+json"})
    async with client_of(app) as elsewhere:
        other_ip = await elsewhere.post("/graphql", json=TYPENAME)
        metrics = (await elsewhere.get("/metrics")).text

    assert allowed == [{"data": {"__typename": "Query"}}] * 3
    assert refused.status_code == 200
    assert refused.headers["retry-after"] == "20"
    assert refused.json() == {"errors": [{
        "message": "Too many requests: try again in 20 seconds.",
        "extensions": {"code": "RATE_LIMITED", "retryAfterSeconds": 20, "limit": "ip"}}]}
    assert (strict.status_code, strict.headers["retry-after"]) == (429, "20")
    assert other_ip.json() == {"data": {"__typename": "Query"}}
    assert 'cf_rate_limited_total{bucket="ip"} 2.0' in metrics


async def test_learner_bucket_follows_the_learner_across_ips(
    make_app: MakeApp, client: httpx.AsyncClient
) -> None:
    app = make_app(rate_per_minute_user=2)
    token = (await register(client, delivery="BODY"))["accessToken"]
    bearer = {"authorization": f"Bearer {token}"}

    results = []
    for _ in range(3):
        async with client_of(app, **bearer) as c:  # a new IP each time
            results.append((await c.post("/graphql", json={"query": "{ me { id } }"})).json())

    assert [("data" in r) for r in results] == [True, True, False]
    assert results[2]["errors"][0]["extensions"] == {
        "code": "RATE_LIMITED", "retryAfterSeconds": 30, "limit": "user"}


async def test_refused_mutation_changes_nothing(
    make_app: MakeApp, client: httpx.AsyncClient
) -> None:
    app = make_app(rate_per_minute_user=1)
    token = (await register(client, delivery="BODY"))["accessToken"]
    create = {"query": 'mutation { createApiKey(name: "k") { __typename } }'}

    async with client_of(app, authorization=f"Bearer {token}") as c:
        first = (await c.post("/graphql", json=create)).json()
        second = (await c.post("/graphql", json=create)).json()

    assert first == {"data": {"createApiKey": {"__typename": "ApiKeyCreated"}}}
    assert second["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
    assert len((await gql(client, "{ apiKeys { id } }"))["data"]["apiKeys"]) == 1


async def test_api_key_has_its_own_bucket(
    make_app: MakeApp, app: Starlette, client: httpx.AsyncClient
) -> None:
    limited = make_app(rate_per_minute_api_key=2, rate_per_minute_user=100)
    token = (await register(client, delivery="BODY"))["accessToken"]
    created = await gql(client, 'mutation { createApiKey(name: "k", scopes: [PROFILE_READ]) '
                                "{ ... on ApiKeyCreated { secret } } }")
    secret = created["data"]["createApiKey"]["secret"]
    me = {"query": "{ me { id } }"}

    async with client_of(limited, authorization=f"Bearer {secret}") as key_client:
        by_key = [(await key_client.post("/graphql", json=me)).json() for _ in range(3)]
    async with client_of(limited, authorization=f"Bearer {token}") as session:
        by_session: dict[str, Any] = (await session.post("/graphql", json=me)).json()

    assert [("data" in r) for r in by_key] == [True, True, False]
    assert by_key[2]["errors"][0]["extensions"]["limit"] == "apiKey"
    assert "data" in by_session
