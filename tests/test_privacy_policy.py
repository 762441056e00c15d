"""Policy versions and consent: recorded at registration, announced by email when a new version
is published, recorded again when the learner accepts it."""

from __future__ import annotations

import random
from collections.abc import Callable
from email import message_from_bytes
from pathlib import Path

import httpx

from db.models.privacy import Notification
from main import Runtime
from tests.conftest import gql, register
from tests.privacy_harness import eventually, make_staff

CURRENT = "{ currentPolicy { version summary acceptedByMe } me { policyVersion } }"
ACCEPT = """
mutation($v: String!) { acceptPolicy(version: $v) {
  __typename ... on PolicyVersion { version acceptedByMe }
  ... on AcceptPolicyError { code field message } } }"""
PUBLISH = """
mutation($v: String!, $s: String!) { publishPolicyVersion(version: $v, summary: $s) {
  __typename ... on PolicyVersion { version summary }
  ... on PublishPolicyVersionError { code field message } } }"""


async def test_registration_records_acceptance_of_the_current_policy(
    client: httpx.AsyncClient,
) -> None:
    await register(client)

    body = (await gql(client, CURRENT))["data"]

    assert body["currentPolicy"]["acceptedByMe"] is True
    assert body["me"]["policyVersion"] == body["currentPolicy"]["version"]


async def test_new_version_is_emailed_to_every_learner_and_accepted_later(
    client: httpx.AsyncClient, new_client: Callable[[], httpx.AsyncClient], runtime: Runtime,
) -> None:
    # given: a learner who accepted the policy in force
    learner = await register(client)
    old = (await gql(client, CURRENT))["data"]["currentPolicy"]["version"]
    version = f"2.{random.randint(1, 10**6)}"

    async with new_client() as admin:
        await make_staff(admin, "admin")
        # when
        published = (await gql(admin, PUBLISH, {"v": version, "s": "We added Twilio."}))[
            "data"]["publishPolicyVersion"]
        again = (await gql(admin, PUBLISH, {"v": version, "s": "Twice."}))["data"][
            "publishPolicyVersion"]

    # then: published once, and the learner is emailed through the outbox
    assert published == {"__typename": "PolicyVersion", "version": version,
                         "summary": "We added Twilio."}
    assert (again["code"], again["field"]) == ("VERSION_EXISTS", "version")
    email = learner["user"]["email"]

    async def sent() -> Notification | None:
        return await Notification.filter(to_email=email, status="sent",
                                         subject__contains=version).first()

    notice = await eventually(sent, what="the policy notice to be sent")
    files = [message_from_bytes(p.read_bytes())
             for p in Path(runtime.settings.outbox_dir).glob("*.eml")]
    mine = [m for m in files if m["To"] == email and version in m["Subject"]]
    assert len(mine) == 1 and "We added Twilio." in mine[0].get_payload()
    assert notice.subject == f"Our privacy policy has changed (version {version})"

    # then: the learner has not accepted the new version until they do
    state = (await gql(client, CURRENT))["data"]
    assert state["currentPolicy"]["version"] == version
    assert (state["currentPolicy"]["acceptedByMe"], state["me"]["policyVersion"]) == (False, old)
    stale = (await gql(client, ACCEPT, {"v": old}))["data"]["acceptPolicy"]
    assert stale == {"__typename": "AcceptPolicyError", "code": "NOT_CURRENT_VERSION",
                     "field": "version",
                     "message": f"Version {version} is the current policy; accept that one."}
    accepted = (await gql(client, ACCEPT, {"v": version}))["data"]["acceptPolicy"]
    assert accepted == {"__typename": "PolicyVersion", "version": version, "acceptedByMe": True}
    assert (await gql(client, CURRENT))["data"]["me"]["policyVersion"] == version


async def test_only_admins_publish(
    client: httpx.AsyncClient, new_client: Callable[[], httpx.AsyncClient],
) -> None:
    await register(client)
    async with new_client() as support:
        await make_staff(support, "support")
        for caller in (client, support):
            body = await gql(caller, PUBLISH, {"v": "9.9", "s": "x"}, expect_errors=True)
            assert body["data"] is None
            assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
        version = (await gql(client, CURRENT))["data"]["currentPolicy"]["version"]
    assert version != "9.9"


async def test_bad_version_is_refused(new_client: Callable[[], httpx.AsyncClient]) -> None:
    async with new_client() as admin:
        await make_staff(admin, "admin")
        bad = (await gql(admin, PUBLISH, {"v": "v2; drop", "s": "x"}))["data"][
            "publishPolicyVersion"]
        empty = (await gql(admin, PUBLISH, {"v": "3.0", "s": "   "}))["data"][
            "publishPolicyVersion"]
    assert bad == {"__typename": "PublishPolicyVersionError", "code": "INVALID_VERSION",
                   "field": "version", "message": "Use a version number such as 1.1 or 2.0."}
    assert (empty["code"], empty["field"]) == ("INVALID_SUMMARY", "summary")
