"""Issue 13, finding 8: GET serves only side-effect-free queries.

A support agent opening ``GET /graphql?query={ supportLookupLearner(…) }`` from a cross-site link
(the ``SameSite=Lax`` cookie goes along on top-level navigation) used to write an attacker-worded
entry into the learner's access log.
"""

from __future__ import annotations

from collections.abc import Callable

import httpx

from tests.conftest import gql, register, unique_email
from tests.privacy_harness import make_staff

LOOKUP = ('{ supportLookupLearner(email: "%s", reason: "You have been hacked, call +1 555") '
          "{ __typename } }")
CALLS = ('{ supportLearnerCalls(userId: "%s", reason: "Ticket 1") { __typename } }')
ACCESS_LOG = "{ accessLog { action reason } }"


async def test_finding_08_audited_support_reads_are_refused_over_get(
    client: httpx.AsyncClient, new_client: Callable[[], httpx.AsyncClient]
) -> None:
    email = unique_email()
    learner = await register(client, email=email)

    async with new_client() as support:
        await make_staff(support, "support")
        lookup = await support.get("/graphql", params={"query": LOOKUP % email})
        calls = await support.get("/graphql", params={"query": CALLS % learner["user"]["id"]})
        posted = await gql(support, LOOKUP % email)

    assert (lookup.status_code, lookup.headers["allow"]) == (405, "POST")
    assert lookup.json()["errors"][0]["message"] == (
        "`supportLookupLearner` writes an audit entry: use POST.")
    assert calls.status_code == 405
    assert posted["data"]["supportLookupLearner"]["__typename"] == "SupportLearner"
    log = (await gql(client, ACCESS_LOG))["data"]["accessLog"]
    assert [entry["action"] for entry in log] == ["support.lookup_learner"]  # the POST only


async def test_finding_08_plain_queries_still_run_over_get(client: httpx.AsyncClient) -> None:
    await register(client)

    response = await client.get("/graphql", params={"query": "{ me { fullName } }"})

    assert response.status_code == 200
    assert response.json() == {"data": {"me": {"fullName": "Ada Learner"}}}
