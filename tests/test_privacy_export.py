"""Access and portability: `requestDataExport`, the export job, and the single-use download."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx

from domain.clock import ManualClock
from main import Runtime
from tests.conftest import gql, register, unique_email
from tests.privacy_harness import (
    REQUEST_EXPORT,
    eventually,
    learner_with_history,
    requests_of,
    sign_in,
)


async def ready_export(client: httpx.AsyncClient) -> dict[str, Any]:
    async def ready() -> dict[str, Any] | None:
        requests = await requests_of(client)
        exports = [r for r in requests if r["kind"] in ("ACCESS", "PORTABILITY")]
        return exports[0] if exports and exports[0]["downloadUrl"] else None

    return await eventually(ready, what="the export to be ready")


def path_of(url: str) -> str:
    return url.removeprefix("http://testserver")


async def test_export_holds_every_category_of_the_learner_and_nothing_of_another(
    client: httpx.AsyncClient, new_client: Callable[[], httpx.AsyncClient], runtime: Runtime,
) -> None:
    # given: two learners with calls, analyses and payments
    mine = await learner_with_history(client, runtime)
    async with new_client() as other_client:
        other = await learner_with_history(other_client, runtime)

    # when
    requested = (await gql(client, REQUEST_EXPORT, {"kind": "PORTABILITY"}))["data"][
        "requestDataExport"]
    ready = await ready_export(client)
    download = await client.get(path_of(ready["downloadUrl"]))

    # then
    assert requested["__typename"] == "PrivacyRequest"
    assert (requested["kind"], requested["status"]) == ("PORTABILITY", "RECEIVED")
    assert ready["id"] == requested["id"] and ready["status"] == "COMPLETED"
    assert [step["action"] for step in ready["auditTrail"]] == ["request.received", "export.ready"]
    assert download.status_code == 200
    assert download.headers["cache-control"] == "no-store"
    assert download.headers["content-type"] == "application/json"
    doc = download.json()
    assert (doc["format"], doc["version"]) == ("callfluently.personal-data-export", 1)
    assert set(doc) == {
        "format", "version", "generatedAt", "requestId", "account", "sessions", "topics", "plan",
        "preferences", "calls", "levelHistory", "payments", "privacyRequests", "consents",
        "notifications", "accessLog", "additional",
    }
    account = doc["account"]
    assert (account["email"], account["fullName"]) == (mine.email, mine.learner.full_name)
    assert account["phone"] == mine.learner.phone and account["timezone"] == "Europe/Istanbul"
    assert account["hasPassword"] is True and "passwordHash" not in account
    assert doc["sessions"] and doc["sessions"][0]["device"] == "Firefox on Linux"
    assert len(doc["topics"]) == 2
    assert doc["plan"]["timezone"] == "Pacific/Chatham"
    assert doc["preferences"]["correctionStyle"] == "END_OF_CALL"
    assert len(doc["calls"]) == 2
    assert all(c["transcript"] and c["analysis"]["status"] == "done" for c in doc["calls"])
    assert any(mine.marker in turn["text"] for c in doc["calls"] for turn in c["transcript"])
    assert doc["levelHistory"]
    assert doc["payments"]["topUps"][0]["amountMinor"] == 2000
    ledger = doc["payments"]["ledger"]
    assert [e["kind"] for e in ledger][:1] == ["top_up"]
    assert sum(e["amountMinor"] for e in ledger) == doc["payments"]["balances"][0]["amountMinor"]
    kinds = [r["kind"] for r in doc["privacyRequests"]]
    assert kinds == ["correction", "portability"]
    assert doc["privacyRequests"][0]["details"] == {"fields": ["timezone"]}
    assert [c["policyVersion"] for c in doc["consents"]] == [account["policyVersion"]]
    assert "progress_calls" in doc["additional"]
    text = download.text
    for foreign in (other.email, other.first_name, other.learner.phone, other.marker,
                    str(other.learner.user_id)):
        assert foreign not in text


async def test_download_works_once_only_for_its_owner_and_not_after_expiry(
    client: httpx.AsyncClient, new_client: Callable[[], httpx.AsyncClient], clock: ManualClock,
) -> None:
    # given: a ready export
    await register(client)
    await gql(client, REQUEST_EXPORT)
    url = path_of((await ready_export(client))["downloadUrl"])

    async with new_client() as anonymous, new_client() as intruder:
        await register(intruder)
        # when / then: nobody else can use the link, and that does not spend it
        assert (await anonymous.get(url)).status_code == 401
        refused = await intruder.get(url)
        assert (refused.status_code, refused.json()["error"]["code"]) == (404, "NOT_FOUND")
        assert (await client.get(url.replace(url[-6:], "AAAAAA"))).status_code == 404

    first = await client.get(url)
    second = await client.get(url)
    assert first.status_code == 200 and json.loads(first.text)["format"]
    assert (second.status_code, second.json()["error"]["code"]) == (410, "GONE")
    assert (await requests_of(client))[0]["downloadUrl"] is None

    # given: a second learner's export, left unused past its 7 days
    async with new_client() as late:
        email = unique_email()
        await register(late, email=email)
        await gql(late, REQUEST_EXPORT)
        late_url = path_of((await ready_export(late))["downloadUrl"])
        clock.advance(timedelta(days=7, seconds=1))
        try:
            assert await sign_in(late, email) == "SignInPayload"
            expired = await late.get(late_url)
            listed = await requests_of(late)
        finally:
            clock.advance(-timedelta(days=7, seconds=1))
        assert (expired.status_code, expired.json()["error"]["code"]) == (410, "GONE")
        assert listed[0]["downloadUrl"] is None


async def test_one_export_per_24_hours(client: httpx.AsyncClient, clock: ManualClock) -> None:
    email = unique_email()
    await register(client, email=email)
    first = (await gql(client, REQUEST_EXPORT))["data"]["requestDataExport"]
    await ready_export(client)

    again = (await gql(client, REQUEST_EXPORT, {"kind": "PORTABILITY"}))["data"][
        "requestDataExport"]

    assert again["__typename"] == "RequestDataExportError"
    assert (again["code"], again["field"]) == ("RATE_LIMITED", None)
    assert again["message"].startswith("You can request one data export every 24 hours.")
    assert [r["id"] for r in await requests_of(client)] == [first["id"]]
    clock.advance(timedelta(hours=24, seconds=1))
    try:
        assert await sign_in(client, email) == "SignInPayload"
        later = (await gql(client, REQUEST_EXPORT))["data"]["requestDataExport"]
    finally:
        clock.advance(-timedelta(hours=24, seconds=1))
    assert later["__typename"] == "PrivacyRequest"


async def test_requesting_an_export_needs_sign_in(client: httpx.AsyncClient) -> None:
    body = await gql(client, REQUEST_EXPORT, expect_errors=True)
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
