"""Each limit on hostile documents answers with a typed request error naming the limit."""

from __future__ import annotations

from typing import Any

from graphql import build_schema, parse

from tests.api.conftest import MakeApp, client_of
from tests.conftest import register
from web.query_cost import operation_cost
from web.query_limits import _cached_parse

GRJ = "application/graphql-response+json"


async def post(app: Any, query: str, variables: dict[str, Any] | None = None,
               **headers: str) -> tuple[int, dict[str, Any]]:
    async with client_of(app, accept=GRJ, **headers) as c:
        response = await c.post("/graphql", json={"query": query, "variables": variables or {}})
    return response.status_code, response.json()


async def test_too_deep_is_query_too_deep(make_app: MakeApp) -> None:
    app = make_app(max_depth=2)

    ok_status, ok = await post(app, "{ me { id } }")
    status, body = await post(
        app, 'mutation { createApiKey(name: "deep") { ... on ApiKeyCreated { apiKey { id } } } }'
    )

    assert (ok_status, ok) == (200, {"data": {"me": None}})
    assert status == 400
    assert body == {"errors": [{
        "message": "The query is 3 levels deep; the limit is 2.",
        "locations": [{"line": 1, "column": 1}],
        "extensions": {"code": "QUERY_TOO_DEEP", "depth": 3, "maxDepth": 2}}]}


async def test_too_many_tokens_is_too_many_tokens(make_app: MakeApp) -> None:
    app = make_app(max_tokens=20)
    fields = " ".join(["__typename"] * 25)

    status, body = await post(app, "{ " + fields + " }")

    assert status == 400
    assert body == {"errors": [{
        "message": "The document has more than 20 tokens.",
        "locations": [{"line": 1, "column": 212}],  # where the parser stopped
        "extensions": {"code": "TOO_MANY_TOKENS", "maxTokens": 20}}]}


async def test_too_many_aliases_is_too_many_aliases(make_app: MakeApp) -> None:
    app = make_app(max_aliases=2)

    status, body = await post(app, "{ a: __typename b: __typename c: __typename }")

    assert status == 400
    assert body["errors"][0]["extensions"] == {
        "code": "TOO_MANY_ALIASES", "aliases": 3, "maxAliases": 2}
    assert body["errors"][0]["message"] == "The query uses 3 aliases; the limit is 2."


async def test_over_budget_is_query_too_complex_and_nothing_runs(make_app: MakeApp) -> None:
    app = make_app(max_cost=150)
    async with client_of(app) as c:
        token = (await register(c, delivery="BODY"))["accessToken"]

    # apiKeys is an unpaginated list: assumed 100 items of 2 fields -> 1 + 100 * 2
    status, body = await post(app, "{ apiKeys { id name } }", authorization=f"Bearer {token}")
    cheap_status, cheap = await post(app, "{ apiKeys { id } }", authorization=f"Bearer {token}")

    assert status == 400
    assert body == {"errors": [{
        "message": "The query would cost 201 points; the budget is 150. Ask for fewer items "
                   "(first/last) or fewer fields.",
        "locations": [{"line": 1, "column": 1}],
        "extensions": {"code": "QUERY_TOO_COMPLEX", "cost": 201, "maxCost": 150}}]}
    assert (cheap_status, cheap) == (200, {"data": {"apiKeys": []}})


async def test_oversized_body_is_413_with_a_json_error(make_app: MakeApp) -> None:
    app = make_app(max_body_bytes=2000)
    padding = "#" + "x" * 3000 + "\n"

    status, body = await post(app, padding + "{ __typename }")
    small_status, _ = await post(app, "{ __typename }")

    assert status == 413
    assert body == {"errors": [{
        "message": "The request body is larger than 2000 bytes.",
        "extensions": {"code": "REQUEST_TOO_LARGE", "maxBytes": 2000}}]}
    assert small_status == 200


async def test_limits_apply_to_application_json_with_status_200(make_app: MakeApp) -> None:
    app = make_app(max_aliases=1)
    async with client_of(app) as c:
        response = await c.post("/graphql", json={"query": "{ a: __typename b: __typename }"})

    assert response.status_code == 200
    assert "data" not in response.json()
    assert response.json()["errors"][0]["extensions"]["code"] == "TOO_MANY_ALIASES"


async def test_parsing_is_cached_across_requests(make_app: MakeApp) -> None:
    app = make_app()
    query = "{ cacheProbe: __typename }"
    cache = _cached_parse(512)
    await post(app, query)
    before = cache.cache_info()

    await post(app, query)

    # Operation selection and the parser share the cache: the second request never misses.
    after = cache.cache_info()
    assert after.misses == before.misses and after.hits > before.hits


CONNECTIONS = build_schema('''
type Query { items(first: Int, last: Int, after: String): ItemConnection! tags: [String!]! }
type ItemConnection { edges: [ItemEdge!]! pageInfo: PageInfo! }
type ItemEdge { cursor: String! node: Item! }
type PageInfo { hasNextPage: Boolean! }
type Item { id: ID! name: String! children(first: Int): ItemConnection! }
''')


def cost(query: str, variables: dict[str, Any] | None = None) -> int:
    document = parse(query)
    operation = document.definitions[0]
    fragments = {d.name.value: d for d in document.definitions[1:]}  # type: ignore[attr-defined]
    return operation_cost(CONNECTIONS, operation, fragments, variables)  # type: ignore[arg-type]


def test_cost_multiplies_connections_by_their_page_size() -> None:
    # items(1) + first * (edges(1) + node(1) + id(1) + name(1))
    assert cost("{ items(first: 10) { edges { node { id name } } } }") == 1 + 10 * 4
    assert cost("query($n: Int) { items(last: $n) { edges { node { id } } } }", {"n": 5}) == 16
    # no first/last: the default page (20); over the maximum: counted as 100
    assert cost("{ items { edges { node { id } } } }") == 1 + 20 * 3
    assert cost("{ items(first: 1000) { edges { node { id } } } }") == 1 + 100 * 3
    # nested connections multiply; plain lists count as 100; introspection is free
    assert cost("{ items(first: 10) { edges { node { children(first: 10) "
                "{ edges { node { id } } } } } } }") == 1 + 10 * (2 + 1 + 10 * 3)
    assert cost("{ tags __typename }") == 1 + 100 * 0
    assert cost("{ items(first: 2) { ...F } } fragment F on ItemConnection { pageInfo "
                "{ hasNextPage } }") == 1 + 2 * 2
