"""The plan scheduler end to end: the service's own worker, a frozen clock stepped through
daylight-saving changes, and the calls it places (read back over GraphQL).

Each step ("tick") freezes the clock at an instant and waits until the periodic
``schedule_plan_calls`` job of that minute and every ``plan_call`` job it caused have run.
Dates are in 2025 so that no other test's plan (all saved later) is due at them.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import httpx
import pytest

from db.models.ops import Job
from domain.clock import ManualClock
from domain.jobs import JobRun, slot_of
from domain.plan_scheduler import PLAN_CALL_JOB, SCHEDULE_JOB, schedule_plan_calls
from main import Runtime
from tests.calls_harness import new_learner
from tests.conftest import gql
from tests.test_plans_settings import SET_PLAN
from tests.test_topics_catalog import all_topics, signed_in
from tests.test_topics_select import SELECT

MY_CALLS = "{ calls(first: 20) { edges { node { id requestedAt topic { id } } } } }"


@pytest.fixture
async def frozen(clock: ManualClock) -> AsyncIterator[ManualClock]:
    yield clock
    clock.unfreeze()


async def wait_until(check: Callable[[], Awaitable[bool]], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.02)


def plan_jobs(user_id: UUID) -> Any:
    return Job.filter(kind=PLAN_CALL_JOB, dedupe_key__startswith=f"plan:{user_id}:")


async def tick(clock: ManualClock, runtime: Runtime, at: datetime, user_id: UUID) -> None:
    """Stop the clock at ``at`` and let the scheduler of that minute (and what it queued) run."""
    clock.freeze(at)
    await runtime.worker.enqueue_periodic()
    key = f"{SCHEDULE_JOB}@{slot_of(at, timedelta(minutes=1)).isoformat()}"
    await wait_until(lambda: Job.filter(dedupe_key=key, status="done").exists())
    await wait_until(lambda: nothing_pending(user_id))


async def nothing_pending(user_id: UUID) -> bool:
    return not await plan_jobs(user_id).filter(status__in=("queued", "running")).exists()


async def scheduled_slots(user_id: UUID) -> list[tuple[str, str, int]]:
    rows = await plan_jobs(user_id).order_by("id")
    return [(row.dedupe_key, row.status, row.attempts) for row in rows]


async def my_calls(client: httpx.AsyncClient) -> list[dict[str, Any]]:
    edges = (await gql(client, MY_CALLS))["data"]["calls"]["edges"]
    return [edge["node"] for edge in edges]


async def set_plan(client: httpx.AsyncClient, **fields: Any) -> dict[str, Any]:
    result: dict[str, Any] = (await gql(client, SET_PLAN, {"input": {
        "minutesPerCall": 10, **fields}}))["data"]["setCallPlan"]
    assert result["__typename"] == "CallPlan", result
    return result


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


async def test_spring_forward_slot_fires_once_at_the_change(
    client: httpx.AsyncClient, runtime: Runtime, frozen: ManualClock
) -> None:
    learner = await new_learner(client, runtime)
    topic = (await all_topics(client))[0]
    await gql(client, SELECT, {"ids": [topic["id"]]})
    frozen.freeze(utc(2025, 3, 9, 6, 50))  # Sun 01:50 EST; at 02:00 clocks jump to 03:00
    plan = await set_plan(client, daysOfWeek=["SUNDAY"], localTime="02:30",
                          timezone="America/New_York")
    assert plan["nextCallAt"] == "2025-03-09T07:00:00+00:00"

    for at in (utc(2025, 3, 9, 6, 59), utc(2025, 3, 9, 7, 0), utc(2025, 3, 9, 7, 1),
               utc(2025, 3, 9, 7, 14), utc(2025, 3, 9, 7, 30), utc(2025, 3, 9, 7, 31)):
        await tick(frozen, runtime, at, learner.user_id)
    # a second process (or a retried run) computing the same minute again adds nothing
    again = schedule_plan_calls(effects=runtime.services.effects)
    await again({}, JobRun(job_id=0, kind=SCHEDULE_JOB, attempt=1, max_attempts=5,
                           now=utc(2025, 3, 9, 7, 1)))

    slot = "2025-03-09T07:00:00+00:00"
    assert await scheduled_slots(learner.user_id) == [(f"plan:{learner.user_id}:{slot}", "done", 1)]
    calls = await my_calls(client)
    assert [(c["requestedAt"], c["topic"]["id"]) for c in calls] == [(slot, topic["id"])]
    await set_plan(client, daysOfWeek=["SUNDAY"], localTime="02:30",
                   timezone="America/New_York", active=False)


async def test_fall_back_repeated_time_fires_once_at_its_first_occurrence(
    client: httpx.AsyncClient, runtime: Runtime, frozen: ManualClock
) -> None:
    learner = await new_learner(client, runtime)
    frozen.freeze(utc(2025, 11, 2, 5, 0))  # Sun 01:00 EDT; 01:00-02:00 happens twice
    await set_plan(client, daysOfWeek=["SUNDAY"], localTime="01:30", timezone="America/New_York")

    for at in (utc(2025, 11, 2, 5, 29), utc(2025, 11, 2, 5, 30), utc(2025, 11, 2, 5, 44),
               utc(2025, 11, 2, 6, 30), utc(2025, 11, 2, 6, 31)):
        await tick(frozen, runtime, at, learner.user_id)

    slot = "2025-11-02T05:30:00+00:00"
    assert await scheduled_slots(learner.user_id) == [(f"plan:{learner.user_id}:{slot}", "done", 1)]
    assert [c["requestedAt"] for c in await my_calls(client)] == [slot]
    await set_plan(client, daysOfWeek=["SUNDAY"], localTime="01:30",
                   timezone="America/New_York", active=False)


async def test_missed_slot_is_caught_up_within_the_window_only(
    client: httpx.AsyncClient, runtime: Runtime, frozen: ManualClock
) -> None:
    """The worker was down at 07:00 Berlin time: it calls at 07:10, not at 07:20 the next day."""
    learner = await new_learner(client, runtime)
    frozen.freeze(utc(2025, 6, 2, 4, 0))  # Monday 06:00 CEST
    await set_plan(client, daysOfWeek=["MONDAY", "TUESDAY"], localTime="07:00",
                   timezone="Europe/Berlin")

    await tick(frozen, runtime, utc(2025, 6, 2, 5, 10), learner.user_id)
    await tick(frozen, runtime, utc(2025, 6, 3, 5, 20), learner.user_id)

    assert await scheduled_slots(learner.user_id) == [
        (f"plan:{learner.user_id}:2025-06-02T05:00:00+00:00", "done", 1)
    ]
    assert [c["requestedAt"] for c in await my_calls(client)] == ["2025-06-02T05:10:00+00:00"]
    await set_plan(client, daysOfWeek=["MONDAY"], localTime="07:00", timezone="Europe/Berlin",
                   active=False)


async def test_refused_slot_is_logged_and_not_retried(
    client: httpx.AsyncClient, runtime: Runtime, frozen: ManualClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="callfluently.plans")
    user_id = await signed_in(client)  # no balance
    frozen.freeze(utc(2025, 6, 4, 9, 0))
    await set_plan(client, daysOfWeek=["WEDNESDAY"], localTime="12:15", timezone="UTC")

    await tick(frozen, runtime, utc(2025, 6, 4, 12, 15), user_id)
    await tick(frozen, runtime, utc(2025, 6, 4, 12, 16), user_id)

    assert await scheduled_slots(user_id) == [
        (f"plan:{user_id}:2025-06-04T12:15:00+00:00", "done", 1)
    ]
    assert await my_calls(client) == []
    refusals = [r for r in caplog.records if r.getMessage() == "plan call refused"
                and getattr(r, "user_id", None) == str(user_id)]
    assert [getattr(r, "code", None) for r in refusals] == ["INSUFFICIENT_BALANCE"]


async def test_paused_plan_and_plan_saved_after_its_time_do_not_fire(
    client: httpx.AsyncClient, runtime: Runtime, frozen: ManualClock
) -> None:
    learner = await new_learner(client, runtime)
    frozen.freeze(utc(2025, 6, 5, 8, 5))  # Thursday 08:05 UTC: today's 08:00 has passed
    await set_plan(client, daysOfWeek=["THURSDAY", "FRIDAY"], localTime="08:00",
                   timezone="UTC")
    await tick(frozen, runtime, utc(2025, 6, 5, 8, 6), learner.user_id)
    frozen.freeze(utc(2025, 6, 5, 9, 0))
    await set_plan(client, daysOfWeek=["THURSDAY", "FRIDAY"], localTime="08:00",
                   timezone="UTC", active=False)

    await tick(frozen, runtime, utc(2025, 6, 6, 8, 0), learner.user_id)

    assert await scheduled_slots(learner.user_id) == []
    assert await my_calls(client) == []
