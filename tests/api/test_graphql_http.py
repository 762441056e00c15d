"""GraphQL over HTTP: media types, status codes and HTTP-level errors (the audit's rules, and
ours: 405 for GET mutations, 413, 415, request ids)."""

from __future__ import annotations

import httpx

GRJ = "application/graphql-response+json"


async def test_graphql_response_json_is_served_when_accepted(client: httpx.AsyncClient) -> None:
    response = await client.post("/graphql", json={"query": "{ __typename }"},
                                 headers={"accept": f"{GRJ}, application/json;q=0.9"})

    assert response.status_code == 200
    assert response.headers["content-type"] == f"{GRJ}; charset=utf-8"
    assert response.json() == {"data": {"__typename": "Query"}}


async def test_application_json_is_the_default(client: httpx.AsyncClient) -> None:
    for accept in (None, "*/*", "application/json"):
        headers = {"accept": accept} if accept else {}
        response = await client.post("/graphql", json={"query": "{ __typename }"}, headers=headers)
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/json; charset=utf-8"


async def test_validation_failure_is_400_without_data_under_graphql_response_json(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post("/graphql", json={"query": "{ noSuchField }"},
                                 headers={"accept": GRJ})

    assert response.status_code == 400
    body = response.json()
    assert "data" not in body
    assert body["errors"][0]["message"] == "Cannot query field 'noSuchField' on type 'Query'."


async def test_validation_failure_is_200_without_data_under_application_json(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post("/graphql", json={"query": "{"},
                                 headers={"accept": "application/json"})

    assert response.status_code == 200
    body = response.json()
    assert "data" not in body
    assert body["errors"][0]["message"].startswith("Syntax Error")


async def test_mutation_over_get_is_405_and_not_run(client: httpx.AsyncClient) -> None:
    response = await client.get("/graphql", params={"query": "mutation { logout }"},
                                headers={"accept": GRJ})

    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert response.json() == {"errors": [{
        "message": "Mutations are not allowed over GET: use POST.",
        "extensions": {"code": "METHOD_NOT_ALLOWED"}}]}


async def test_post_without_json_content_type_is_415(client: httpx.AsyncClient) -> None:
    response = await client.post("/graphql", content=b'{"query": "{ __typename }"}',
                                 headers={"content-type": "text/plain"})

    assert response.status_code == 415
    assert response.json()["errors"][0]["extensions"] == {"code": "UNSUPPORTED_MEDIA_TYPE"}


async def test_malformed_json_and_bad_parameters_are_400(client: httpx.AsyncClient) -> None:
    bad_json = await client.post("/graphql", content=b'{"query": ',
                                 headers={"content-type": "application/json"})
    bad_name = await client.post("/graphql", json={"query": "{ __typename }", "operationName": 7})
    no_query = await client.post("/graphql", json={"notquery": "{ __typename }"})

    assert [bad_json.status_code, bad_name.status_code, no_query.status_code] == [400, 400, 400]
    assert bad_name.json() == {"errors": [{
        "message": "`operationName` must be a string or null.",
        "extensions": {"code": "BAD_REQUEST"}}]}


async def test_request_id_is_echoed_or_assigned(client: httpx.AsyncClient) -> None:
    given = await client.post("/graphql", json={"query": "{ __typename }"},
                              headers={"x-request-id": "partner-req-0001"})
    assigned = await client.post("/graphql", json={"query": "{ __typename }"},
                                 headers={"x-request-id": "bad id; drop table"})

    assert given.headers["x-request-id"] == "partner-req-0001"
    assert len(assigned.headers["x-request-id"]) == 32


async def test_browsers_still_get_graphiql(client: httpx.AsyncClient) -> None:
    page = await client.get("/graphql", headers={"accept": "text/html"})

    assert page.status_code == 200
    assert "graphiql" in page.text.lower()
