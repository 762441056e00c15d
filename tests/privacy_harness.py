"""Driving privacy rights from the outside: a learner with a real history (top-up through the
Stripe twin, a call played by the VAPI twin, a scripted call, analyses by the Claude twin,
topics, plan, preferences, a correction), the privacy GraphQL documents, and a scan of every
table for a learner's identifying values.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar
from uuid import UUID

import httpx
from tortoise import fields

from db.mentions import ids_mentioning
from db.models.accounts import User
from db.models.calls import TranscriptTurn
from domain.privacy_inventory import all_models
from main import Runtime
from schema.ids import decode_uuid
from tests.analysis_harness import analysis_of, finished_call
from tests.calls_harness import Learner, new_learner, start_call, wait_for_call
from tests.conftest import gql, register
from tests.test_topics_catalog import all_topics

T = TypeVar("T")

REQUEST_FIELDS = """
  id kind jurisdiction status receivedAt dueAt completedAt downloadUrl downloadExpiresAt
  balanceAtClosure { amountMinor currency refundDue }
  auditTrail { action actorRole details }
"""
PRIVACY_REQUESTS = f"{{ privacyRequests {{ {REQUEST_FIELDS} }} }}"
REQUEST_EXPORT = f"""
mutation($kind: DataExportKind! = ACCESS) {{ requestDataExport(kind: $kind) {{
  __typename
  ... on PrivacyRequest {{ {REQUEST_FIELDS} }}
  ... on RequestDataExportError {{ code field message }}
}} }}"""
DELETE_ACCOUNT = f"""
mutation($password: String) {{ requestAccountDeletion(password: $password) {{
  __typename
  ... on PrivacyRequest {{ {REQUEST_FIELDS} }}
  ... on RequestAccountDeletionError {{ code field message }}
}} }}"""
UPDATE_PROFILE = """
mutation($input: UpdateProfileInput!) { updateProfile(input: $input) {
  __typename ... on User { fullName phone timezone } ... on UpdateProfileError { code } } }"""
SELECT_TOPICS = """
mutation($ids: [ID!]!) { selectTopics(topicIds: $ids) { __typename } }"""
SET_PLAN = """
mutation($input: CallPlanInput!) { setCallPlan(input: $input) { __typename } }"""
SET_PREFS = """
mutation($input: PreferencesInput!) { setPreferences(input: $input) { __typename } }"""

SCRIPT_MARKER = "quetzal"


LOGIN = """
mutation($e: String!, $p: String!) { login(email: $e, password: $p) {
  __typename ... on LoginError { code message } } }"""
PASSWORD = "correct horse battery"


async def sign_in(client: httpx.AsyncClient, email: str, password: str = PASSWORD) -> str:
    """Sign in again (e.g. after moving the clock past the access token's life)."""
    result: dict[str, Any] = (await gql(client, LOGIN, {"e": email, "p": password}))["data"][
        "login"]
    return str(result["__typename"])


async def eventually(
    probe: Callable[[], Awaitable[T | None]], *, timeout: float = 20.0, what: str = "condition"
) -> T:
    """Poll ``probe`` until it returns something truthy."""
    deadline = time.monotonic() + timeout
    while True:
        found = await probe()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


def unique_name() -> tuple[str, str]:
    """(full name, first name) that no other learner of this run has."""
    first = "Zo" + uuid.uuid4().hex[:10]
    return f"{first} Lovelace", first


@dataclass
class History:
    learner: Learner
    email: str
    first_name: str
    live_call_id: str
    scripted_call_id: str
    marker: str


async def requests_of(client: httpx.AsyncClient) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = (await gql(client, PRIVACY_REQUESTS))["data"]["privacyRequests"]
    return found


async def wait_for_analysis(client: httpx.AsyncClient, call_id: str) -> dict[str, Any]:
    async def done() -> dict[str, Any] | None:
        analysis = await analysis_of(client, call_id)
        settled = analysis and analysis["status"] in ("DONE", "SKIPPED", "FAILED")
        return analysis if settled else None

    return await eventually(done, what=f"the analysis of {call_id}")


async def learner_with_history(client: httpx.AsyncClient, runtime: Runtime) -> History:
    """A learner with payments, two analysed calls, topics, a plan, preferences, a correction."""
    full_name, first = unique_name()
    learner = await new_learner(client, runtime, balance=2000, full_name=full_name)
    email = (await gql(client, "{ me { email } }"))["data"]["me"]["email"]
    catalog = await all_topics(client)
    await gql(client, SELECT_TOPICS, {"ids": [catalog[0]["id"], catalog[1]["id"]]})
    await gql(client, SET_PLAN, {"input": {
        "daysOfWeek": ["MONDAY"], "localTime": "03:17", "timezone": "Pacific/Chatham",
        "minutesPerCall": 5, "active": False}})
    await gql(client, SET_PREFS, {"input": {"correctionStyle": "END_OF_CALL"}})
    await gql(client, UPDATE_PROFILE, {"input": {"timezone": "Europe/Istanbul"}})
    started = await start_call(client)
    assert started["__typename"] == "Call", started
    live = await wait_for_call(client, started["id"])
    assert live["status"] == "ENDED" and live["transcript"], live
    marker = f"{SCRIPT_MARKER}{uuid.uuid4().hex[:8]}"
    scripted = await finished_call(client, runtime, learner, [
        ("coach", f"Hello {first}, tell me about your weekend.", 0.0, 3.0),
        ("learner", f"I visited the {marker} museum with my sister and we ate lunch in the "
         "park because the weather was lovely.", 3.5, 15.0),
        ("coach", "Lovely. What did you like most?", 15.5, 17.0),
        ("learner", f"The {marker} exhibition about old maps was fascinating and I bought "
         "a postcard for my grandmother.", 17.5, 30.0),
    ])
    for call_id in (live["id"], scripted):
        analysis = await wait_for_analysis(client, call_id)
        assert analysis["status"] == "DONE", analysis
    return History(learner, email, first, live["id"], scripted, marker)


async def transcript_snippets(user_id: UUID) -> list[str]:
    """Every transcript line of the learner's calls that names them or the scripted marker."""
    texts = await TranscriptTurn.filter(call__user_id=user_id).values_list("text", flat=True)
    return [t for t in texts if SCRIPT_MARKER in t or "Zo" in t]


SKIPPED_TYPES = (fields.IntField, fields.BigIntField, fields.SmallIntField, fields.BooleanField,
                 fields.DatetimeField, fields.DateField, fields.FloatField, fields.DecimalField)


async def scan(needles: set[str]) -> dict[str, int]:
    """``{"table.column": rows}`` for every text, JSON and id column holding any needle."""
    hits: dict[str, int] = {}
    for model in all_models():
        meta = model._meta
        for name, column in meta.fields_db_projection.items():
            field = meta.fields_map[name]
            if isinstance(field, SKIPPED_TYPES):
                continue
            found = await ids_mentioning(model, column, needles)
            if found:
                hits[f"{meta.db_table}.{column}"] = len(found)
    return hits


async def make_staff(client: httpx.AsyncClient, role: str) -> UUID:
    """A support or admin account signed in on ``client`` (staff roles are set in the DB)."""
    result = await register(client, full_name=f"Sam {role.title()}")
    user_id = decode_uuid(result["user"]["id"], "User")
    await User.filter(id=user_id).update(role=role)
    return user_id
