"""The daily retention job, run through the worker with the clock moved forward: it removes
exactly what the retention table says and nothing else, and logs the counts.

Given state is backdated in the database (the only way to have data older than the test run);
everything else goes through the public surface and the worker.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import httpx

from db.models.accounts import LoginThrottle, Session, User
from db.models.billing import Balance, LedgerEntry, TopUp
from db.models.calls import Call
from db.models.live import Event
from db.models.ops import Job, WebhookDelivery
from db.models.privacy import (
    AuditLog,
    Consent,
    DataExport,
    Notification,
    PrivacyRequest,
    RetentionRun,
)
from domain.clock import ManualClock
from domain.jobs import slot_of
from domain.retention import RETENTION_JOB, years_before
from main import Runtime
from schema.ids import encode
from tests.calls_harness import adjust_balance, new_learner
from tests.conftest import gql
from tests.privacy_harness import DELETE_ACCOUNT, PASSWORD, eventually, make_staff

LOOKUP = """query($id: ID!) { supportLookupLearner(userId: $id, reason: "Ticket 7: refund") {
  __typename } }"""
RUNS = "{ retentionRuns(first: 5) { ranAt counts } }"
DAY = timedelta(days=1)


async def fresh_day(now: datetime) -> datetime:
    """The same time on the first later day whose retention slot has not run yet (other tests
    move the clock forward too)."""
    for days in range(1, 400):
        candidate = now + days * DAY
        key = f"{RETENTION_JOB}@{slot_of(candidate, DAY).isoformat()}"
        if not await Job.filter(dedupe_key=key).exists():
            return candidate
    raise AssertionError("no free retention slot")


async def closed_learner(
    client: httpx.AsyncClient, runtime: Runtime, *, balance: int = 0
) -> UUID:
    """A learner who paid ``balance`` and then deleted their account."""
    learner = await new_learner(client, runtime, balance=balance)
    closed = (await gql(client, DELETE_ACCOUNT, {"password": PASSWORD}))["data"][
        "requestAccountDeletion"]
    assert closed["__typename"] == "PrivacyRequest", closed
    return learner.user_id


async def backdate_account(user_id: UUID, *, closed_at: datetime) -> None:
    await User.filter(id=user_id).update(closed_at=closed_at)


async def expected_counts(at: datetime) -> dict[str, int]:
    """The retention table, restated independently, counted over the whole database."""
    ended_cut = at - timedelta(days=30)
    links = await Call.filter(recording_url__isnull=False, recording_expires_at__lte=at).count()
    links += await Call.filter(recording_url__isnull=False, recording_expires_at__isnull=True,
                               ended_at__lte=ended_cut).count()
    return {
        "recording_links_dropped": links,
        "exports_removed": await DataExport.filter(expires_at__lte=at,
                                                   document__isnull=False).count(),
        "webhook_bodies_removed": await WebhookDelivery.filter(
            received_at__lte=at - timedelta(days=30), body__isnull=False).count(),
        "webhook_records_deleted": await WebhookDelivery.filter(
            received_at__lte=at - timedelta(days=90)).count(),
        "events_deleted": await Event.filter(created_at__lte=at - timedelta(days=30)).count(),
        "jobs_deleted": await Job.filter(status__in=("done", "dead", "cancelled"),
                                         finished_at__lte=at - timedelta(days=30)).count(),
        "notifications_deleted": await Notification.filter(
            status__in=("sent", "failed"), created_at__lte=at - timedelta(days=90)).count(),
        "login_throttles_deleted": await LoginThrottle.filter(
            updated_at__lte=at - DAY).count(),
        "closed_accounts_purged": await User.filter(
            status="closed", closed_at__lte=years_before(at, 2)).count(),
        "top_ups_deleted": await TopUp.filter(created_at__lte=years_before(at, 10)).count(),
    }


async def test_retention_removes_exactly_what_the_table_says(
    client: httpx.AsyncClient, new_client: Callable[[], httpx.AsyncClient], runtime: Runtime,
    clock: ManualClock,
) -> None:
    run_at = await fresh_day(clock.now().replace(microsecond=0))
    ten_years, two_years = years_before(run_at, 10), years_before(run_at, 2)

    # given: an active learner with a recording link on each side of 30 days, and payments
    # on each side of 10 years
    active = await new_learner(client, runtime, balance=1000)
    await adjust_balance(runtime, active.user_id, 300)
    user = await User.get(id=active.user_id)
    expired_call = await Call.create(
        user_id=user.id, status="ended", requested_at=run_at - timedelta(days=31),
        ended_at=run_at - timedelta(days=31), recording_url="https://rec.example/old.wav",
        recording_expires_at=run_at - timedelta(seconds=1), charge_minor=0)
    fresh_call = await Call.create(
        user_id=user.id, status="ended", requested_at=run_at - timedelta(days=29),
        ended_at=run_at - timedelta(days=29), recording_url="https://rec.example/new.wav",
        recording_expires_at=run_at + DAY, charge_minor=0)
    top_up_entry = await LedgerEntry.get(account_ref=user.account_ref, kind="top_up")
    await LedgerEntry.filter(id=top_up_entry.id).update(created_at=ten_years - DAY)
    await TopUp.filter(account_ref=user.account_ref).update(created_at=ten_years - DAY)

    # given: exports, webhook deliveries, events, jobs, notices and sign-in counters of all ages
    request = await PrivacyRequest.create(
        user_id=user.id, account_ref=user.account_ref, kind="access", jurisdiction="GDPR",
        status="completed", received_at=run_at - 8 * DAY, due_at=run_at + 22 * DAY)
    old_export = await DataExport.create(request=request, user_id=user.id, document="{}",
                                         expires_at=run_at - timedelta(seconds=1))
    new_export = await DataExport.create(request=request, user_id=user.id, document="{}",
                                         expires_at=run_at + DAY)
    tag = uuid.uuid4().hex
    hooks = {age: await WebhookDelivery.create(
        provider="test", dedupe_key=f"{tag}:{age}", body=f'{{"age": {age}}}',
        received_at=run_at - timedelta(days=age)) for age in (29, 31, 91)}
    old_event = await Event.create(user_id=user.id, type="test.old", payload={},
                                   created_at=run_at - timedelta(days=31))
    new_event = await Event.create(user_id=user.id, type="test.new", payload={},
                                   created_at=run_at - timedelta(days=29))
    jobs = {name: await Job.create(kind="test_retention", status=status, run_at=run_at,
                                   finished_at=finished, payload={"tag": tag})
            for name, status, finished in (
                ("old_done", "done", run_at - timedelta(days=31)),
                ("new_done", "done", run_at - timedelta(days=29)),
                ("old_queued", "queued", None))}
    await Job.filter(id=jobs["old_queued"].id).update(run_at=run_at + 365 * DAY)
    for name, status, days in (
            ("old_sent", "sent", 91), ("old_failed", "failed", 91), ("new_sent", "sent", 89)):
        await Notification.create(
            user_id=user.id, to_email="x@example.com", subject=name, body="-", status=status,
            created_at=run_at - timedelta(days=days))
    await LoginThrottle.create(key=f"ip:{tag}:old", failures=1)
    await LoginThrottle.create(key=f"ip:{tag}:new", failures=1)
    await LoginThrottle.filter(key=f"ip:{tag}:old").update(updated_at=run_at - 2 * DAY)
    await LoginThrottle.filter(key=f"ip:{tag}:new").update(updated_at=run_at - DAY / 2)

    # given: accounts closed just over and just under 2 years ago (one read by support first),
    # one closed with a request from over 10 years ago, and one whose payments are all
    # over 10 years old
    async with new_client() as b, new_client() as c, new_client() as d, new_client() as e, \
            new_client() as support:
        await make_staff(support, "support")
        purged = (await new_learner(b, runtime, balance=0)).user_id
        assert (await gql(support, LOOKUP, {"id": encode("User", purged)}))["data"][
            "supportLookupLearner"]["__typename"] == "SupportLearner"
        await gql(b, DELETE_ACCOUNT, {"password": PASSWORD})
        kept = await closed_learner(c, runtime)
        ancient = await closed_learner(d, runtime)
        paid_long_ago = await closed_learner(e, runtime, balance=500)
    await backdate_account(purged, closed_at=two_years - DAY)
    await backdate_account(ancient, closed_at=two_years - DAY)
    await backdate_account(kept, closed_at=two_years + DAY)
    await backdate_account(paid_long_ago, closed_at=run_at - 365 * DAY)
    await PrivacyRequest.filter(user_id=ancient).update(received_at=ten_years - DAY)
    old_ref = (await User.get(id=paid_long_ago)).account_ref
    await LedgerEntry.filter(account_ref=old_ref).update(created_at=ten_years - DAY)
    await TopUp.filter(account_ref=old_ref).update(created_at=ten_years - DAY)
    purged_request = await PrivacyRequest.get(user_id=purged)
    purged_ref = (await User.get(id=purged)).account_ref
    ancient_ref = (await User.get(id=ancient)).account_ref

    expected = await expected_counts(run_at)
    assert expected["recording_links_dropped"] >= 1 and expected["closed_accounts_purged"] >= 2

    # when: the daily job comes due, through the worker, enqueued twice (two processes)
    clock.freeze(run_at)
    try:
        await runtime.worker.enqueue_periodic()
        await runtime.worker.enqueue_periodic()
        await runtime.worker.drain()

        async def logged() -> list[RetentionRun]:
            return await RetentionRun.filter(ran_at=run_at)

        runs = await eventually(logged, what="the retention run")
    finally:
        clock.unfreeze()

    # then: it ran once and logged what the table says
    assert len(runs) == 1
    slot_key = f"{RETENTION_JOB}@{slot_of(run_at, DAY).isoformat()}"
    assert await Job.filter(dedupe_key=slot_key).count() == 1
    counts: dict[str, Any] = runs[0].counts
    assert {k: counts[k] for k in expected} == expected
    assert counts["ledger_entries_deleted"] >= 2 and counts["privacy_requests_deleted"] >= 1

    # then: recording links older than 30 days are gone, newer ones stay
    assert (await Call.get(id=expired_call.id)).recording_url is None
    assert (await Call.get(id=fresh_call.id)).recording_url == "https://rec.example/new.wav"
    # exports past their expiry lose their document; webhook bodies after 30 days, rows after 90
    assert (await DataExport.get(id=old_export.id)).document is None
    assert (await DataExport.get(id=new_export.id)).document == "{}"
    assert (await WebhookDelivery.get(id=hooks[31].id)).body is None
    assert (await WebhookDelivery.get(id=hooks[29].id)).body == '{"age": 29}'
    assert not await WebhookDelivery.filter(id=hooks[91].id).exists()
    assert [e.id for e in await Event.filter(id__in=[old_event.id, new_event.id])] == [
        new_event.id]
    assert {j.id for j in await Job.filter(kind="test_retention", payload={"tag": tag})} == {
        jobs["new_done"].id, jobs["old_queued"].id}
    assert {n.subject for n in await Notification.filter(user_id=user.id)} == {"new_sent"}
    assert [t.key for t in await LoginThrottle.filter(key__startswith=f"ip:{tag}")] == [
        f"ip:{tag}:new"]

    # then: the account closed over 2 years ago is purged; its request stays, pseudonymous
    assert not await User.filter(id=purged).exists()
    assert not await Session.filter(user_id=purged).exists()
    assert not await Consent.filter(user_id=purged).exists()
    detached = await PrivacyRequest.get(id=purged_request.id)
    assert (detached.user_id, detached.account_ref) == (None, purged_ref)  # type: ignore[attr-defined]
    trail = await AuditLog.filter(request_id=purged_request.id)
    assert trail and all(a.subject_id is None for a in trail)  # type: ignore[attr-defined]
    assert not await AuditLog.filter(action="support.lookup_learner", subject_id=purged).exists()
    assert not await User.filter(id=ancient).exists()
    assert not await PrivacyRequest.filter(account_ref=ancient_ref).exists()
    assert await User.filter(id=kept, status="closed").exists()
    assert await Consent.filter(user_id=kept).exists()

    # then: payments over 10 years old are gone; the active balance still adds up
    entries = await LedgerEntry.filter(account_ref=user.account_ref)
    assert sorted((e.kind, e.amount_minor) for e in entries) == [
        ("adjustment", 300), ("adjustment", 1000)]
    forward = next(e for e in entries if e.business_key.startswith("retention-forward:"))
    assert forward.user_id == user.id  # type: ignore[attr-defined]
    balance = (await Balance.get(account_ref=user.account_ref)).amount_minor
    assert sum(e.amount_minor for e in entries) == balance == 1300
    assert not await TopUp.filter(account_ref=user.account_ref).exists()
    assert not await LedgerEntry.filter(account_ref=old_ref).exists()
    assert not await Balance.filter(account_ref=old_ref).exists()
    assert await User.filter(id=paid_long_ago, status="closed").exists()

    # then: support reads the destruction log
    async with new_client() as support:
        await make_staff(support, "support")
        logged_runs = (await gql(support, RUNS))["data"]["retentionRuns"]
    assert counts in [r["counts"] for r in logged_runs]
