"""A learner's progress over a period: buckets, totals, topics, streak and level history.

Everything is read from the pre-aggregated day rows (``domain.progress_record``), so a request
costs a fixed handful of statements whatever the learner's history, and its work grows with
the number of days in the period, not the number of calls. Buckets are whole local days,
ISO weeks (Monday first) or calendar months in the learner's timezone; the period is widened
to whole buckets, and empty buckets are included so charts have no holes.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import Enum
from typing import Any, Final
from uuid import UUID

from tortoise.functions import Sum
from tortoise.transactions import in_transaction

from db.models.analysis import LevelHistory, ProgressDay, ProgressState
from domain.errors import DomainError
from domain.progress_record import EPOCH, lock_state, zone


class Granularity(Enum):
    DAY = "DAY"
    WEEK = "WEEK"
    MONTH = "MONTH"


MAX_BUCKETS: Final = {Granularity.DAY: 366, Granularity.WEEK: 260, Granularity.MONTH: 120}
DEFAULT_BUCKETS: Final = {Granularity.DAY: 30, Granularity.WEEK: 12, Granularity.MONTH: 12}


class ProgressErrorCode(Enum):
    INVALID_PERIOD = "INVALID_PERIOD"
    PERIOD_TOO_LONG = "PERIOD_TOO_LONG"


class ProgressRefused(DomainError):
    pass


@dataclass(slots=True)
class Tally:
    """Calls, talk time and score sums; averages over the analysed calls."""

    calls: int = 0
    seconds: int = 0
    scored: int = 0
    grammar_sum: int = 0
    vocabulary_sum: int = 0
    fluency_sum: int = 0
    pronunciation_sum: int = 0

    def add(self, row: ProgressDay | Tally) -> None:
        self.calls += row.calls
        self.seconds += row.seconds
        self.scored += row.scored
        self.grammar_sum += row.grammar_sum
        self.vocabulary_sum += row.vocabulary_sum
        self.fluency_sum += row.fluency_sum
        self.pronunciation_sum += row.pronunciation_sum

    def average(self, total: int) -> float | None:
        return round(total / self.scored, 1) if self.scored else None


@dataclass(slots=True)
class Bucket:
    local_date: date
    start: datetime
    end: datetime
    tally: Tally = field(default_factory=Tally)


@dataclass(slots=True)
class TopicTally:
    topic_id: UUID | None
    tally: Tally = field(default_factory=Tally)


@dataclass(frozen=True, slots=True)
class Progress:
    timezone: str
    granularity: Granularity
    start: datetime
    end: datetime
    buckets: list[Bucket]
    totals: Tally
    topics: list[TopicTally]
    streak_days: int
    level_history: list[LevelHistory]


def align(day: date, granularity: Granularity) -> date:
    if granularity is Granularity.WEEK:
        return day - timedelta(days=day.weekday())
    if granularity is Granularity.MONTH:
        return day.replace(day=1)
    return day


def step(day: date, granularity: Granularity, n: int = 1) -> date:
    """``n`` buckets after (or, negative, before) the bucket starting on ``day``."""
    if granularity is Granularity.DAY:
        return day + timedelta(days=n)
    if granularity is Granularity.WEEK:
        return day + timedelta(weeks=n)
    months = day.year * 12 + day.month - 1 + n
    return date(months // 12, months % 12 + 1, 1)


def bucket_dates(
    *, start: datetime | None, end: datetime | None, granularity: Granularity, tz_name: str,
    now: datetime,
) -> list[date]:
    """The local start dates of the buckets covering [start, end), plus the one after."""
    tz = zone(tz_name)
    for name, value in (("from", start), ("to", end)):
        if value is not None and value.tzinfo is None:
            raise ProgressRefused(
                ProgressErrorCode.INVALID_PERIOD, "Give times with a UTC offset.", name
            )
    end = end or now
    last = align((end - timedelta(microseconds=1)).astimezone(tz).date(), granularity)
    if start is None:
        first = step(last, granularity, 1 - DEFAULT_BUCKETS[granularity])
    elif start >= end:
        raise ProgressRefused(
            ProgressErrorCode.INVALID_PERIOD, "`from` must be before `to`.", "from"
        )
    else:
        first = align(start.astimezone(tz).date(), granularity)
    dates = [first]
    while dates[-1] <= last:
        if len(dates) > MAX_BUCKETS[granularity]:
            raise ProgressRefused(
                ProgressErrorCode.PERIOD_TOO_LONG,
                f"At most {MAX_BUCKETS[granularity]} {granularity.value.lower()} buckets at "
                "once: shorten the period or use a coarser granularity.",
                "from",
            )
        dates.append(step(dates[-1], granularity))
    return dates


def _midnight(day: date, tz_name: str) -> datetime:
    return datetime.combine(day, time(), tzinfo=zone(tz_name)).astimezone(UTC)


_SUMMED = ("calls", "seconds", "scored", "grammar_sum", "vocabulary_sum", "fluency_sum",
           "pronunciation_sum")


async def _sums(user_id: UUID, first: int, last: int, *, by: str) -> list[dict[str, Any]]:
    """The learner's day rows in [first, last) added up by the database, one row per value of
    ``by`` (a day, or a topic): a busy learner has a row per day and topic, and summing them
    here would cost a model object each."""
    return await (
        ProgressDay.filter(user_id=user_id, local_day__gte=first, local_day__lt=last)
        .annotate(**{f"sum_{name}": Sum(name) for name in _SUMMED})
        .group_by(by)
        .values(by, *(f"sum_{name}" for name in _SUMMED))
    )


def _tally(row: dict[str, Any]) -> Tally:
    return Tally(*(int(row[f"sum_{name}"] or 0) for name in _SUMMED))


async def _state(user_id: UUID, timezone: str) -> ProgressState | None:
    """The learner's progress state, its day rows rebuilt first if the timezone changed."""
    state = await ProgressState.get_or_none(user_id=user_id)
    if state is not None and state.timezone != timezone:
        async with in_transaction() as conn:
            state = await lock_state(conn, user_id, timezone)
    return state


def streak(state: ProgressState | None, today: int) -> int:
    """Consecutive local days with a call, ending today or yesterday (still unbroken)."""
    if state is None or state.streak_last is None or state.streak_start is None:
        return 0
    if state.streak_last < today - 1:
        return 0
    return state.streak_last - state.streak_start + 1


async def progress(
    *,
    user_id: UUID,
    timezone: str,
    start: datetime | None,
    end: datetime | None,
    granularity: Granularity,
    now: datetime,
) -> Progress:
    """The learner's progress for the buckets covering [start, end) (defaults: recent ones)."""
    dates = bucket_dates(
        start=start, end=end, granularity=granularity, tz_name=timezone, now=now
    )
    edges = [_midnight(d, timezone) for d in dates]
    buckets = [
        Bucket(local_date=d, start=edges[i], end=edges[i + 1]) for i, d in enumerate(dates[:-1])
    ]
    state = await _state(user_id, timezone)
    numbers = [(d - EPOCH).days for d in dates]
    totals = Tally()
    for row in await _sums(user_id, numbers[0], numbers[-1], by="local_day"):
        day = _tally(row)
        buckets[bisect.bisect_right(numbers, row["local_day"]) - 1].tally.add(day)
        totals.add(day)
    topics = [
        TopicTally(UUID(row["topic_key"]) if row["topic_key"] else None, _tally(row))
        for row in await _sums(user_id, numbers[0], numbers[-1], by="topic_key")
    ]
    history = await LevelHistory.filter(
        user_id=user_id, at__gte=edges[0], at__lt=edges[-1]
    ).order_by("at", "id")
    today = (now.astimezone(zone(timezone)).date() - EPOCH).days
    return Progress(
        timezone=timezone,
        granularity=granularity,
        start=edges[0],
        end=edges[-1],
        buckets=buckets,
        totals=totals,
        topics=sorted(topics, key=lambda t: (-t.tally.calls, str(t.topic_id or ""))),
        streak_days=streak(state, today),
        level_history=list(history),
    )
