"""Issue 13, finding 4: introspection costs what it returns.

One anonymous document of 30 aliased deep ``__schema`` selections used to return 7.1 MB in
3.1 s, because the cost rule counted introspection as free and the depth rule skipped it.
"""

from __future__ import annotations

import httpx
from graphql import get_introspection_query

from tests.api.conftest import MakeApp, client_of
from tests.conftest import gql

DEEP = "types { name fields { name args { name type { name ofType { name } } } type { name } } }"
ALIASED = "{ " + " ".join(f"s{i}: __schema {{ {DEEP} }}" for i in range(30)) + " }"
INTROSPECTION = get_introspection_query(descriptions=True)
TYPE_NAMES = "{ __schema { types { name } } }"


async def test_finding_04_aliased_introspection_is_refused_before_it_runs(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post("/graphql", json={"query": ALIASED})

    body = response.json()
    assert "data" not in body and len(response.content) < 2_000
    assert body["errors"][0]["extensions"]["code"] == "QUERY_TOO_COMPLEX"
    assert body["errors"][0]["extensions"]["schemaCopies"] == 30


async def test_finding_04_introspection_counts_in_the_budget(make_app: MakeApp) -> None:
    app = make_app(max_cost=5_000)
    async with client_of(app) as c:
        full = (await c.post("/graphql", json={"query": INTROSPECTION})).json()
        names = (await c.post("/graphql", json={"query": TYPE_NAMES})).json()

    error = full["errors"][0]
    assert (error["extensions"]["code"], error["extensions"]["maxCost"]) == (
        "QUERY_TOO_COMPLEX", 5_000)
    assert error["extensions"]["cost"] == 5_001  # counting stops just past the budget
    assert "data" not in full
    types = names["data"]["__schema"]["types"]
    assert len(types) > 100  # one point per returned field: 2 + len(types) fits


async def test_finding_04_the_standard_introspection_query_still_runs(
    client: httpx.AsyncClient,
) -> None:
    body = await gql(client, INTROSPECTION)

    names = {t["name"] for t in body["data"]["__schema"]["types"]}
    assert {"Query", "Mutation", "Subscription", "User", "Call"} <= names


async def test_finding_04_two_copies_of_the_schema_are_refused(
    client: httpx.AsyncClient,
) -> None:
    query = "{ a: __schema { queryType { name } } b: __schema { queryType { name } } }"

    body = (await client.post("/graphql", json={"query": query})).json()

    assert body["errors"][0]["extensions"]["code"] == "QUERY_TOO_COMPLEX"
    assert "data" not in body
