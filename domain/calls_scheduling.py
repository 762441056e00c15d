"""When a call plan's slots fall, in UTC: pure functions, so DST behaviour is tested exactly.

A plan says "Mondays and Thursdays at 18:30, Europe/Istanbul". Each such local date and time is
one *slot*. Wall-clock times that a DST change skips or repeats need a rule:

* a time in the spring-forward gap (02:30 when clocks jump from 02:00 to 03:00) fires at the
  first valid instant after the gap, i.e. the moment of the change (03:00 new time): the learner
  asked for "about now" and still gets the call that day;
* a time repeated at fall-back (01:30 happens twice) fires once, at its first occurrence.

Every slot therefore maps to exactly one UTC instant, and that instant names the slot in the job
dedupe key and on the call, which is what makes "once per slot" hold across processes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from uuid import UUID
from zoneinfo import ZoneInfo

#: A slot missed by up to this much (worker down, deploy) still fires; later ones are skipped,
#: because a coaching call an hour late is worse than none.
CATCH_UP = timedelta(minutes=15)


@dataclass(frozen=True, slots=True)
class PlanSchedule:
    """The timing part of a call plan."""

    days_of_week: frozenset[int]
    local_time: time
    timezone: ZoneInfo
    effective_from: datetime | None = None

    @classmethod
    def of(
        cls,
        *,
        days_of_week: Iterable[int],
        local_time: str,
        timezone: str,
        effective_from: datetime | None = None,
    ) -> PlanSchedule:
        """Build from stored values (``"HH:MM"``, an IANA name); raises on invalid ones."""
        hour, minute = (int(part) for part in local_time.split(":"))
        return cls(
            days_of_week=frozenset(days_of_week),
            local_time=time(hour, minute),
            timezone=ZoneInfo(timezone),
            effective_from=effective_from,
        )


def local_to_utc(day: date, at: time, tz: ZoneInfo) -> datetime:
    """The UTC instant of wall-clock ``at`` on ``day`` in ``tz``, by the DST rules above."""
    naive = datetime.combine(day, at)
    first = naive.replace(tzinfo=tz, fold=0).astimezone(UTC)
    if first.astimezone(tz).replace(tzinfo=None) == naive:
        return first  # exists; fold=0 is the first occurrence when it is repeated
    # In a gap, fold=0 reads the time with the offset before the change and fold=1 with the one
    # after; the change itself lies between the two readings. Find it to the second.
    second = naive.replace(tzinfo=tz, fold=1).astimezone(UTC)
    low, high = sorted((first, second))
    after = high.astimezone(tz).utcoffset()
    lo_s, hi_s = int(low.timestamp()), int(high.timestamp())
    while hi_s - lo_s > 1:
        mid = (lo_s + hi_s) // 2
        if datetime.fromtimestamp(mid, tz).utcoffset() == after:
            hi_s = mid
        else:
            lo_s = mid
    return datetime.fromtimestamp(hi_s, UTC)


def _slots_on(schedule: PlanSchedule, days: Iterable[date]) -> Iterable[datetime]:
    for day in days:
        if day.isoweekday() in schedule.days_of_week:
            slot = local_to_utc(day, schedule.local_time, schedule.timezone)
            if schedule.effective_from is None or slot >= schedule.effective_from:
                yield slot


def due_slot(
    schedule: PlanSchedule, now: datetime, window: timedelta = CATCH_UP
) -> datetime | None:
    """The latest slot in ``(now - window, now]``, or None when nothing is due."""
    today = now.astimezone(schedule.timezone).date()
    candidates = [
        slot
        for slot in _slots_on(schedule, (today - timedelta(days=1), today))
        if now - window < slot <= now
    ]
    return max(candidates, default=None)


def next_slot(schedule: PlanSchedule, after: datetime) -> datetime | None:
    """The first slot strictly after ``after`` (None only for a plan without days)."""
    today = after.astimezone(schedule.timezone).date()
    days = (today + timedelta(days=n) for n in range(-1, 9))
    return min((s for s in _slots_on(schedule, days) if s > after), default=None)


def slot_name(slot: datetime) -> str:
    """The slot's stable name: its UTC instant in ISO 8601 (stored as ``calls.plan_slot``)."""
    return slot.astimezone(UTC).isoformat()


def slot_dedupe_key(user_id: UUID, slot: datetime) -> str:
    """The ``plan_call`` job key: one job per learner and slot, however often it is computed."""
    return f"plan:{user_id}:{slot_name(slot)}"
