"""Keeping the pre-aggregated progress tables, inside the transaction of the change they count.

The dashboard reads one row per learner, local day and topic (``progress_days``) instead of
every call, so its cost follows the length of the period asked for, not the learner's history.
Each answered call is counted once (``progress_calls`` is the guard), and its scores are added
once when its analysis is done. Day rows are in the learner's timezone; when it changes, the
next write or read rebuilds them from ``progress_calls``.

Call ``record_call`` when an answered call ends (the calls domain) and ``record_scores`` when an
analysis is stored; both are idempotent and take the learner's progress lock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.expressions import F

from db.locks import lock_progress_state
from db.models.analysis import ProgressCall, ProgressDay, ProgressState
from db.models.calls import Call

EPOCH = date(1970, 1, 1)


@dataclass(frozen=True, slots=True)
class Scores:
    grammar: int
    vocabulary: int
    fluency: int
    pronunciation: int


def zone(name: str) -> ZoneInfo:
    """The learner's timezone; an unknown name (never stored by accounts) falls back to UTC."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def day_number(at: datetime, tz: ZoneInfo) -> int:
    """Days since 1970-01-01 of the local date of ``at`` in ``tz``."""
    return (at.astimezone(tz).date() - EPOCH).days


def call_time(call: Call) -> datetime:
    return call.started_at or call.ended_at or call.requested_at


def counts(call: Call) -> bool:
    """Only answered calls that ended count as practice."""
    return call.status == "ended" and bool(call.duration_s)


async def _add(
    conn: BaseDBAsyncClient | None,
    state: ProgressState,
    *,
    local_day: int,
    topic_id: UUID | None,
    calls: int = 0,
    seconds: int = 0,
    scores: Scores | None = None,
) -> None:
    key = str(topic_id) if topic_id else ""
    await ProgressDay.bulk_create(
        [ProgressDay(user_id=state.user_id, local_day=local_day, topic_key=key,
                     timezone=state.timezone)],
        ignore_conflicts=True,
        using_db=conn,
    )
    changes: dict[str, Any] = {"calls": F("calls") + calls, "seconds": F("seconds") + seconds}
    if scores is not None:
        changes.update(
            scored=F("scored") + 1,
            grammar_sum=F("grammar_sum") + scores.grammar,
            vocabulary_sum=F("vocabulary_sum") + scores.vocabulary,
            fluency_sum=F("fluency_sum") + scores.fluency,
            pronunciation_sum=F("pronunciation_sum") + scores.pronunciation,
        )
    await ProgressDay.filter(
        user_id=state.user_id, local_day=local_day, topic_key=key
    ).using_db(conn).update(**changes)


def _island_end(days: set[int]) -> tuple[int | None, int | None]:
    """The most recent run of consecutive days: (first, last)."""
    if not days:
        return None, None
    last = max(days)
    first = last
    while first - 1 in days:
        first -= 1
    return first, last


async def _save_streak(conn: BaseDBAsyncClient | None, state: ProgressState) -> None:
    await ProgressState.filter(user_id=state.user_id).using_db(conn).update(
        timezone=state.timezone, streak_start=state.streak_start, streak_last=state.streak_last
    )


async def _extend_streak(conn: BaseDBAsyncClient | None, state: ProgressState, day: int) -> None:
    """Fold a newly counted call day into the current run; rare back-dated days recompute."""
    start, last = state.streak_start, state.streak_last
    if start is None or last is None or day > last + 1:
        state.streak_start = state.streak_last = day
    elif day == last + 1:
        state.streak_last = day
    elif start <= day <= last or day < start - 1:
        return
    else:  # day == start - 1 may join an older run
        rows: list[Any] = await ProgressDay.filter(user_id=state.user_id, calls__gt=0).using_db(
            conn
        ).values_list("local_day", flat=True)
        state.streak_start, state.streak_last = _island_end({int(d) for d in rows} | {day})
    await _save_streak(conn, state)


async def rebuild(conn: BaseDBAsyncClient | None, state: ProgressState, timezone: str) -> None:
    """Recount the learner's day rows in ``timezone`` from their counted calls."""
    tz = zone(timezone)
    await ProgressDay.filter(user_id=state.user_id).using_db(conn).delete()
    rows: dict[tuple[int, str], ProgressDay] = {}
    for pc in await ProgressCall.filter(user_id=state.user_id).using_db(conn):
        day = day_number(pc.at, tz)
        key = str(pc.topic_id) if pc.topic_id else ""
        row = rows.setdefault(
            (day, key),
            ProgressDay(user_id=state.user_id, local_day=day, topic_key=key, timezone=timezone),
        )
        row.calls += 1
        row.seconds += pc.seconds
        if pc.scored:
            row.scored += 1
            row.grammar_sum += pc.grammar or 0
            row.vocabulary_sum += pc.vocabulary or 0
            row.fluency_sum += pc.fluency or 0
            row.pronunciation_sum += pc.pronunciation or 0
    if rows:
        await ProgressDay.bulk_create(list(rows.values()), using_db=conn)
    state.timezone = timezone
    state.streak_start, state.streak_last = _island_end({day for day, _ in rows})
    await _save_streak(conn, state)


async def lock_state(
    conn: BaseDBAsyncClient | None, user_id: UUID, timezone: str
) -> ProgressState:
    """The learner's locked progress state, its day rows in ``timezone``."""
    state = await lock_progress_state(conn, user_id, timezone)
    if state.timezone != timezone:
        await rebuild(conn, state, timezone)
    return state


async def record_call(conn: BaseDBAsyncClient | None, *, call: Call, timezone: str) -> bool:
    """Count an answered call once; returns whether it was counted now."""
    if not counts(call):
        return False
    state = await lock_state(conn, call.user_id, timezone)
    if await ProgressCall.filter(call_id=call.id).using_db(conn).exists():
        return False
    at = call_time(call)
    seconds = int(call.duration_s or 0)
    await ProgressCall.create(
        call_id=call.id, user_id=call.user_id, at=at, seconds=seconds, topic_id=call.topic_id,
        using_db=conn,
    )
    day = day_number(at, zone(timezone))
    await _add(conn, state, local_day=day, topic_id=call.topic_id, calls=1, seconds=seconds)
    await _extend_streak(conn, state, day)
    return True


async def record_scores(
    conn: BaseDBAsyncClient | None, *, call: Call, timezone: str, scores: Scores
) -> None:
    """Add a done analysis's scores to its call's day, once."""
    await record_call(conn, call=call, timezone=timezone)
    state = await lock_state(conn, call.user_id, timezone)
    progress_call = await ProgressCall.filter(call_id=call.id).using_db(conn).first()
    if progress_call is None or progress_call.scored:
        return
    await ProgressCall.filter(call_id=call.id).using_db(conn).update(
        scored=True, grammar=scores.grammar, vocabulary=scores.vocabulary,
        fluency=scores.fluency, pronunciation=scores.pronunciation,
    )
    day = day_number(progress_call.at, zone(timezone))
    await _add(conn, state, local_day=day, topic_id=progress_call.topic_id, scores=scores)
