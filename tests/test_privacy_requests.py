"""Privacy requests as records: corrections are requests, each learner sees only their own,
the jurisdiction follows the learner, and status changes reach `myEvents`."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import httpx
from starlette.applications import Starlette

from tests.conftest import gql, register
from tests.gql_ws import MY_EVENTS, connect
from tests.privacy_harness import REQUEST_EXPORT, UPDATE_PROFILE, eventually, requests_of

ONE = """
query($id: ID!) { privacyRequest(id: $id) { id kind } }"""
NODE = """
query($id: ID!) { node(id: $id) { __typename ... on PrivacyRequest { id kind } } }"""
JURISDICTION = """
mutation($j: Jurisdiction!) { setPrivacyJurisdiction(jurisdiction: $j) {
  __typename ... on PrivacySettings { jurisdiction } } }"""


async def test_profile_correction_is_recorded_as_a_completed_correction_request(
    client: httpx.AsyncClient,
) -> None:
    await register(client)

    corrected = (await gql(client, UPDATE_PROFILE, {"input": {
        "fullName": "Ada  King", "phone": "+44 7911 123457"}}))["data"]["updateProfile"]
    unchanged = (await gql(client, UPDATE_PROFILE, {"input": {"fullName": "Ada King"}}))[
        "data"]["updateProfile"]

    assert corrected["fullName"] == unchanged["fullName"] == "Ada King"
    requests = await requests_of(client)
    assert len(requests) == 1
    request = requests[0]
    assert (request["kind"], request["status"], request["jurisdiction"]) == (
        "CORRECTION", "COMPLETED", "GDPR")
    received = datetime.fromisoformat(request["receivedAt"])
    assert datetime.fromisoformat(request["dueAt"]) - received == timedelta(days=30)
    assert request["completedAt"] == request["receivedAt"]
    assert [(s["action"], s["actorRole"]) for s in request["auditTrail"]] == [
        ("request.received", "learner"), ("profile.corrected", "learner")]
    assert request["auditTrail"][1]["details"] == {"fields": ["fullName", "phone"]}


async def test_a_learner_cannot_read_or_file_requests_for_someone_else(
    client: httpx.AsyncClient, new_client: Callable[[], httpx.AsyncClient],
) -> None:
    # given: a request of learner A
    await register(client)
    mine = (await gql(client, REQUEST_EXPORT))["data"]["requestDataExport"]

    async with new_client() as other:
        await register(other, phone="+905321234567")
        # when: learner B looks for it, and files their own
        one = await gql(other, ONE, {"id": mine["id"]}, expect_errors=True)
        node = await gql(other, NODE, {"id": mine["id"]})
        own = (await gql(other, REQUEST_EXPORT))["data"]["requestDataExport"]
        theirs = await requests_of(other)

    # then: B sees nothing of A's, and B's request is B's (under KVKK: a Turkish number)
    assert one["data"] is None
    assert [e["extensions"]["code"] for e in one["errors"]] == ["NOT_FOUND"]
    assert node["data"] == {"node": None}
    assert [r["id"] for r in theirs] == [own["id"]]
    assert own["jurisdiction"] == "KVKK"
    assert [r["id"] for r in await requests_of(client)] == [mine["id"]]
    assert (await gql(client, ONE, {"id": mine["id"]}))["data"]["privacyRequest"] == {
        "id": mine["id"], "kind": "ACCESS"}
    assert (await gql(client, NODE, {"id": mine["id"]}))["data"]["node"] == {
        "__typename": "PrivacyRequest", "id": mine["id"], "kind": "ACCESS"}


async def test_learner_chooses_the_jurisdiction_of_later_requests(
    client: httpx.AsyncClient,
) -> None:
    await register(client)

    chosen = (await gql(client, JURISDICTION, {"j": "KVKK"}))["data"]["setPrivacyJurisdiction"]
    request = (await gql(client, REQUEST_EXPORT))["data"]["requestDataExport"]

    assert chosen == {"__typename": "PrivacySettings", "jurisdiction": "KVKK"}
    assert request["jurisdiction"] == "KVKK"


async def test_request_updates_reach_my_events(client: httpx.AsyncClient, app: Starlette) -> None:
    await register(client)
    async with connect(app, cookies=client.cookies) as ws:
        assert (await ws.init())["type"] == "connection_ack"
        op = await ws.subscribe(MY_EVENTS)

        requested = (await gql(client, REQUEST_EXPORT))["data"]["requestDataExport"]
        events = await ws.events(op, 2, "myEvents")

    assert [(e["__typename"], e["requestId"], e["requestKind"], e["requestStatus"])
            for e in events] == [
        ("PrivacyRequestUpdated", requested["id"], "access", "received"),
        ("PrivacyRequestUpdated", requested["id"], "access", "completed"),
    ]
    ready = await eventually(lambda: _download_url(client), what="the download link")
    assert ready.startswith("http://testserver/privacy/exports/")


async def _download_url(client: httpx.AsyncClient) -> str | None:
    url: str | None = (await requests_of(client))[0]["downloadUrl"]
    return url
