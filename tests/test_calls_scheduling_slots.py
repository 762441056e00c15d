"""Slot arithmetic of call plans, exact to the second, across daylight-saving changes."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from domain.calls_scheduling import (
    PlanSchedule,
    due_slot,
    local_to_utc,
    next_slot,
    slot_dedupe_key,
    slot_name,
)

NEW_YORK = ZoneInfo("America/New_York")
BERLIN = ZoneInfo("Europe/Berlin")
SUNDAY = 7


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def plan(local: str, tz: str, days: set[int] | None = None,
         effective_from: datetime | None = None) -> PlanSchedule:
    return PlanSchedule.of(days_of_week=days or set(range(1, 8)), local_time=local, timezone=tz,
                           effective_from=effective_from)


@pytest.mark.parametrize(
    ("day", "at", "tz", "expected"),
    [
        # ordinary days: winter and summer offsets
        (date(2026, 1, 15), time(9, 0), NEW_YORK, utc(2026, 1, 15, 14, 0)),
        (date(2026, 7, 15), time(9, 0), NEW_YORK, utc(2026, 7, 15, 13, 0)),
        # spring forward (02:00 -> 03:00): every time in the gap fires at the change, 03:00 EDT
        (date(2026, 3, 8), time(2, 0), NEW_YORK, utc(2026, 3, 8, 7, 0)),
        (date(2026, 3, 8), time(2, 30), NEW_YORK, utc(2026, 3, 8, 7, 0)),
        (date(2026, 3, 8), time(2, 59), NEW_YORK, utc(2026, 3, 8, 7, 0)),
        (date(2026, 3, 8), time(3, 0), NEW_YORK, utc(2026, 3, 8, 7, 0)),
        (date(2026, 3, 8), time(1, 59), NEW_YORK, utc(2026, 3, 8, 6, 59)),
        # fall back (01:00-01:59 happens twice): the first occurrence, still EDT
        (date(2026, 11, 1), time(1, 30), NEW_YORK, utc(2026, 11, 1, 5, 30)),
        (date(2026, 11, 1), time(1, 0), NEW_YORK, utc(2026, 11, 1, 5, 0)),
        (date(2026, 11, 1), time(2, 0), NEW_YORK, utc(2026, 11, 1, 7, 0)),
        # Europe changes at 01:00 UTC
        (date(2026, 3, 29), time(2, 30), BERLIN, utc(2026, 3, 29, 1, 0)),
        (date(2026, 10, 25), time(2, 30), BERLIN, utc(2026, 10, 25, 0, 30)),
        # a 30-minute DST (Lord Howe) and a whole skipped day (Samoa, 30 Dec 2011)
        (date(2026, 10, 4), time(2, 15), ZoneInfo("Australia/Lord_Howe"),
         utc(2026, 10, 3, 15, 30)),
        (date(2011, 12, 30), time(12, 0), ZoneInfo("Pacific/Apia"), utc(2011, 12, 30, 10, 0)),
    ],
)
def test_local_time_maps_to_one_utc_instant(
    day: date, at: time, tz: ZoneInfo, expected: datetime
) -> None:
    assert local_to_utc(day, at, tz) == expected


def test_due_slot_fires_from_the_slot_until_the_catch_up_window_ends() -> None:
    schedule = plan("18:30", "Europe/Istanbul")  # UTC+3 all year
    slot = utc(2026, 5, 4, 15, 30)

    assert due_slot(schedule, slot - timedelta(seconds=1)) is None
    assert due_slot(schedule, slot) == slot
    assert due_slot(schedule, slot + timedelta(minutes=14, seconds=59)) == slot
    assert due_slot(schedule, slot + timedelta(minutes=15)) is None


def test_due_slot_only_on_the_plan_days_in_local_time() -> None:
    # 00:10 in Tokyo on Monday is still Sunday in UTC: the local weekday decides.
    schedule = plan("00:10", "Asia/Tokyo", days={1})
    monday_local = utc(2026, 5, 3, 15, 10)  # Mon 4 May 00:10 JST

    assert due_slot(schedule, monday_local) == monday_local
    assert due_slot(schedule, monday_local + timedelta(days=1)) is None


def test_slot_before_the_plan_was_saved_never_fires() -> None:
    saved_at = utc(2026, 5, 4, 15, 35)  # 18:35 Istanbul
    schedule = plan("18:30", "Europe/Istanbul", effective_from=saved_at)

    assert due_slot(schedule, saved_at) is None
    assert due_slot(schedule, utc(2026, 5, 5, 15, 30)) == utc(2026, 5, 5, 15, 30)
    assert next_slot(schedule, saved_at) == utc(2026, 5, 5, 15, 30)


def test_spring_forward_gap_is_due_once_at_the_change() -> None:
    schedule = plan("02:30", "America/New_York", days={SUNDAY})
    change = utc(2026, 3, 8, 7, 0)

    seen = {due_slot(schedule, change + timedelta(minutes=m)) for m in range(-30, 90)}

    assert seen == {None, change}
    assert due_slot(schedule, change - timedelta(seconds=1)) is None
    assert next_slot(schedule, utc(2026, 3, 7, 12, 0)) == change


def test_fall_back_repeated_time_is_due_once_at_the_first_occurrence() -> None:
    schedule = plan("01:30", "America/New_York", days={SUNDAY})
    first, second = utc(2026, 11, 1, 5, 30), utc(2026, 11, 1, 6, 30)

    seen = {due_slot(schedule, first + timedelta(minutes=m)) for m in range(-30, 120)}

    assert seen == {None, first}
    assert due_slot(schedule, second) is None
    assert next_slot(schedule, first) == utc(2026, 11, 8, 6, 30)  # next Sunday, EST


def test_window_longer_than_the_repeat_still_names_one_slot() -> None:
    schedule = plan("01:30", "America/New_York", days={SUNDAY})

    at_second_occurrence = due_slot(schedule, utc(2026, 11, 1, 6, 30), timedelta(hours=2))

    assert at_second_occurrence == utc(2026, 11, 1, 5, 30)


def test_next_slot_skips_to_the_next_plan_day() -> None:
    schedule = plan("07:00", "Europe/Berlin", days={1, 4})  # Mondays and Thursdays

    assert next_slot(schedule, utc(2026, 3, 27, 12, 0)) == utc(2026, 3, 30, 5, 0)  # CEST
    assert next_slot(schedule, utc(2026, 3, 26, 5, 59)) == utc(2026, 3, 26, 6, 0)  # CET
    assert next_slot(schedule, utc(2026, 3, 26, 6, 0)) == utc(2026, 3, 30, 5, 0)


def test_slot_names_are_utc_iso_and_keyed_per_learner() -> None:
    learner = uuid.UUID("3f1f8a5e-2d7c-4c1e-9a59-0b1c2d3e4f50")
    slot = datetime(2026, 3, 8, 3, 0, tzinfo=NEW_YORK)

    assert slot_name(slot) == "2026-03-08T07:00:00+00:00"
    assert slot_dedupe_key(learner, slot) == f"plan:{learner}:2026-03-08T07:00:00+00:00"
