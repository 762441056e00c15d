"""Account deletion: everything personal goes at once, payment records stay pseudonymous."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx

from db.models.accounts import User
from db.models.billing import Balance, LedgerEntry, TopUp
from db.models.calls import Call
from domain.clock import ManualClock
from main import Runtime
from tests.calls_harness import VAPI
from tests.conftest import gql, register, unique_email
from tests.privacy_harness import (
    DELETE_ACCOUNT,
    PRIVACY_REQUESTS,
    eventually,
    learner_with_history,
    make_staff,
    requests_of,
    scan,
    sign_in,
    transcript_snippets,
)
from tests.test_accounts_google import google_round_trip

SUPPORT_REQUESTS = """
query($kind: PrivacyRequestKind) { supportPrivacyRequests(kind: $kind, first: 100) {
  id kind status balanceAtClosure { amountMinor currency refundDue } downloadUrl
  auditTrail { action details } } }"""
ME = "{ me { id } }"
CONTEST = """mutation($r: String!) { contestLevel(reason: $r) { __typename } }"""
#: Where the closed account's id may still appear: its skeleton, purged after 2 years.
SKELETON = {"users.id", "sessions.user_id", "consents.user_id", "privacy_requests.user_id",
            "audit_log.subject_id", "audit_log.actor_id"}


async def vapi_calls(http: httpx.AsyncClient) -> dict[str, bool]:
    """The VAPI twin's calls: id -> whether it was deleted (with its recording)."""
    calls = (await http.get(f"{VAPI}/_control/calls")).json()["calls"]
    return {c["id"]: c["deleted"] and c["recordingDeleted"] for c in calls}


async def test_deletion_erases_the_learner_and_keeps_the_ledger_under_a_pseudonym(
    client: httpx.AsyncClient, new_client: Callable[[], httpx.AsyncClient], runtime: Runtime,
) -> None:
    # given: a learner with calls, transcripts, analyses, a paid balance, and a contested level
    history = await learner_with_history(client, runtime)
    uid = history.learner.user_id
    contested = (await gql(client, CONTEST, {"r": f"I am {history.first_name}; B1 is too low."}))[
        "data"]["contestLevel"]
    assert contested["__typename"] == "LevelContest", contested
    user = await User.get(id=uid)
    account_ref = user.account_ref
    provider_ids = set(await Call.filter(user_id=uid, provider_call_id__isnull=False)
                       .values_list("provider_call_id", flat=True))
    async with new_client() as http:
        at_vapi = {i for i in provider_ids if i in await vapi_calls(http)}
    assert len(at_vapi) == 1  # the live call; the scripted one never went through VAPI
    snippets = await transcript_snippets(uid)
    access_token = client.cookies["cf_access"]
    refresh_token = client.cookies["cf_refresh"]
    balance = (await Balance.get(account_ref=account_ref)).amount_minor
    assert snippets and 0 < balance < 2000

    # when
    result = (await gql(client, DELETE_ACCOUNT, {"password": "correct horse battery"}))[
        "data"]["requestAccountDeletion"]

    # then: the request says what was owed, and the account is closed at once
    assert result["__typename"] == "PrivacyRequest"
    assert (result["kind"], result["status"]) == ("DELETION", "IN_PROGRESS")
    assert result["balanceAtClosure"] == {"amountMinor": balance, "currency": "USD",
                                          "refundDue": True}
    assert [s["action"] for s in result["auditTrail"]] == ["request.received", "account.closed"]
    async with new_client() as stolen:
        bearer = {"authorization": f"Bearer {access_token}"}
        assert (await gql(stolen, ME, headers=bearer))["data"] == {"me": None}
        refreshed = await gql(stolen, """mutation($t: String) { refreshSession(refreshToken: $t) {
            __typename ... on RefreshSessionError { code } } }""", {"t": refresh_token})
        assert refreshed["data"]["refreshSession"] == {
            "__typename": "RefreshSessionError", "code": "INVALID_REFRESH_TOKEN"}
        denied = await gql(stolen, PRIVACY_REQUESTS, headers=bearer, expect_errors=True)
        assert denied["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"

    # then: the recordings are deleted at VAPI and the request completes
    async with new_client() as http:

        async def deleted_at_vapi() -> bool:
            calls = await vapi_calls(http)
            return all(calls[i] for i in at_vapi)

        await eventually(deleted_at_vapi, what="deletion at VAPI")
    async with new_client() as support:
        await make_staff(support, "support")

        async def completed() -> dict[str, Any] | None:
            rows = (await gql(support, SUPPORT_REQUESTS, {"kind": "DELETION"}))["data"][
                "supportPrivacyRequests"]
            row = next(r for r in rows if r["id"] == result["id"])
            return row if row["status"] == "COMPLETED" else None

        done = await eventually(completed, what="the deletion request to complete")
    assert done["balanceAtClosure"]["refundDue"] is True and done["downloadUrl"] is None
    assert done["auditTrail"][-1]["action"] == "recordings.deleted"

    # then: no table holds a transcript, analysis or profile data of the learner
    personal = {history.email, history.learner.phone, history.first_name,
                history.learner.full_name, *snippets}
    assert await scan(personal) == {}
    assert set(await scan({str(uid)})) <= SKELETON
    # Left: the finished VAPI-deletion job, and webhook dedupe keys (ids, no content).
    assert set(await scan(provider_ids)) == {"jobs.payload", "webhook_deliveries.dedupe_key"}

    # then: the ledger still adds up under the pseudonymous account reference
    entries = await LedgerEntry.filter(account_ref=account_ref)
    assert entries and all(e.user_id is None for e in entries)  # type: ignore[attr-defined]
    assert sum(e.amount_minor for e in entries) == balance
    assert (await Balance.get(account_ref=account_ref)).amount_minor == balance
    assert await TopUp.filter(account_ref=account_ref, user_id=None).count() == 1

    # then: the learner cannot sign in again
    async with new_client() as again:
        assert await sign_in(again, history.email) == "LoginError"


async def test_wrong_password_deletes_nothing(client: httpx.AsyncClient) -> None:
    email = unique_email()
    await register(client, email=email)

    missing = (await gql(client, DELETE_ACCOUNT))["data"]["requestAccountDeletion"]
    wrong = (await gql(client, DELETE_ACCOUNT, {"password": "not my password"}))["data"][
        "requestAccountDeletion"]

    assert missing == {"__typename": "RequestAccountDeletionError", "code": "PASSWORD_REQUIRED",
                       "field": "password", "message": "Enter your password to confirm."}
    assert wrong == {"__typename": "RequestAccountDeletionError", "code": "INVALID_CREDENTIALS",
                     "field": "password", "message": "The password is not correct."}
    assert await requests_of(client) == []
    assert (await gql(client, ME))["data"]["me"] is not None


async def test_google_only_account_confirms_with_a_recent_sign_in(
    client: httpx.AsyncClient, clock: ManualClock,
) -> None:
    # given: a Google-only learner who signed in 11 minutes ago
    email = unique_email("google")
    signed = await google_round_trip(client, email=email, name="Gil Google")
    assert "signedIn=google" in signed.headers["location"]
    clock.advance(timedelta(minutes=11))
    try:
        stale = (await gql(client, DELETE_ACCOUNT))["data"]["requestAccountDeletion"]
    finally:
        clock.advance(-timedelta(minutes=11))
    assert stale["code"] == "REAUTHENTICATION_REQUIRED"
    assert stale["message"] == (
        "Sign in with Google again, then confirm the deletion within 10 minutes.")

    # when: signed in just now
    closed = (await gql(client, DELETE_ACCOUNT))["data"]["requestAccountDeletion"]

    # then
    assert (closed["__typename"], closed["kind"]) == ("PrivacyRequest", "DELETION")
    assert closed["status"] == "COMPLETED"
    assert await User.filter(email=email.lower()).count() == 0
    assert (await gql(client, ME))["data"]["me"] is None
