"""A learner's call plan (when the coach calls) and coaching preferences (how the coach talks).

Both are one row per learner, replaced by the learner. A plan takes effect from the moment it is
saved: slots earlier than that never fire, so saving "09:00" at 09:05 does not dial at once.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from functools import cache
from typing import Any
from uuid import UUID
from zoneinfo import available_timezones

from tortoise.exceptions import IntegrityError

from db.models.plans import CallPlan, Preferences
from domain.cefr import CefrLevel
from domain.errors import DomainError

MIN_MINUTES = 5
MAX_MINUTES = 60
_LOCAL_TIME = re.compile(r"^(\d{1,2}):(\d{2})$")


class DayOfWeek(Enum):
    """ISO weekdays, as stored in ``call_plans.days_of_week``."""

    MONDAY = 1
    TUESDAY = 2
    WEDNESDAY = 3
    THURSDAY = 4
    FRIDAY = 5
    SATURDAY = 6
    SUNDAY = 7


class CoachVoice(Enum):
    FRIENDLY_FEMALE = "FRIENDLY_FEMALE"
    FRIENDLY_MALE = "FRIENDLY_MALE"
    CALM_FEMALE = "CALM_FEMALE"
    CALM_MALE = "CALM_MALE"
    ENERGETIC_FEMALE = "ENERGETIC_FEMALE"
    ENERGETIC_MALE = "ENERGETIC_MALE"


class CorrectionStyle(Enum):
    GENTLE = "GENTLE"
    IMMEDIATE = "IMMEDIATE"
    END_OF_CALL = "END_OF_CALL"


class ExplanationLanguage(Enum):
    """Languages the coach may switch to when explaining a mistake (ISO 639-1 codes)."""

    ENGLISH = "en"
    TURKISH = "tr"
    SPANISH = "es"
    PORTUGUESE = "pt"
    FRENCH = "fr"
    GERMAN = "de"
    ITALIAN = "it"
    ARABIC = "ar"
    RUSSIAN = "ru"
    CHINESE = "zh"
    JAPANESE = "ja"
    KOREAN = "ko"


class SetCallPlanErrorCode(Enum):
    INVALID_DAYS = "INVALID_DAYS"
    INVALID_LOCAL_TIME = "INVALID_LOCAL_TIME"
    INVALID_TIMEZONE = "INVALID_TIMEZONE"
    INVALID_MINUTES = "INVALID_MINUTES"


class SetCallPlanRefused(DomainError):
    pass


class SetPreferencesErrorCode(Enum):
    NOTHING_TO_CHANGE = "NOTHING_TO_CHANGE"


class SetPreferencesRefused(DomainError):
    pass


@dataclass(frozen=True, slots=True)
class PlanChange:
    days_of_week: Sequence[int]
    local_time: str
    timezone: str
    minutes_per_call: int
    active: bool = True


@dataclass(frozen=True, slots=True)
class PreferencesChange:
    """None means "leave as it is"."""

    coach_voice: CoachVoice | None = None
    correction_style: CorrectionStyle | None = None
    target_level: CefrLevel | None = None
    explanation_language: ExplanationLanguage | None = None


@cache
def _zones() -> frozenset[str]:
    return frozenset(available_timezones())


def is_timezone(name: str) -> bool:
    """Whether ``name`` is a zone of the IANA database shipped with the service."""
    return name in _zones()


def normalise_local_time(value: str) -> str | None:
    """``"9:05"`` -> ``"09:05"``; None unless it is a 24-hour wall-clock time."""
    match = _LOCAL_TIME.match(value.strip())
    if match is None:
        return None
    hour, minute = int(match[1]), int(match[2])
    if hour > 23 or minute > 59:
        return None
    return f"{hour:02d}:{minute:02d}"


async def set_call_plan(*, user_id: UUID, change: PlanChange, now: datetime) -> CallPlan:
    """Validate and save the learner's plan; it applies to slots from ``now`` on."""
    days = sorted(set(change.days_of_week))
    if not days or any(d not in range(1, 8) for d in days):
        raise SetCallPlanRefused(
            SetCallPlanErrorCode.INVALID_DAYS, "Choose at least one day of the week.",
            "daysOfWeek",
        )
    local_time = normalise_local_time(change.local_time)
    if local_time is None:
        raise SetCallPlanRefused(
            SetCallPlanErrorCode.INVALID_LOCAL_TIME,
            "Give the time as HH:MM on a 24-hour clock, e.g. 18:30.",
            "localTime",
        )
    if not is_timezone(change.timezone):
        raise SetCallPlanRefused(
            SetCallPlanErrorCode.INVALID_TIMEZONE,
            "Give an IANA timezone name, e.g. Europe/Istanbul.",
            "timezone",
        )
    if not MIN_MINUTES <= change.minutes_per_call <= MAX_MINUTES:
        raise SetCallPlanRefused(
            SetCallPlanErrorCode.INVALID_MINUTES,
            f"A call lasts {MIN_MINUTES} to {MAX_MINUTES} minutes.",
            "minutesPerCall",
        )
    values: dict[str, Any] = {
        "days_of_week": days,
        "local_time": local_time,
        "timezone": change.timezone,
        "minutes_per_call": change.minutes_per_call,
        "active": change.active,
        "effective_from": now,
    }
    if not await CallPlan.filter(user_id=user_id).update(**values):
        try:
            return await CallPlan.create(user_id=user_id, **values)
        except IntegrityError:
            # Another request created the row first: ours is the later change, so it wins.
            await CallPlan.filter(user_id=user_id).update(**values)
    return await CallPlan.get(user_id=user_id)


def default_preferences(user_id: UUID) -> Preferences:
    """The preferences a learner has before choosing any (not saved)."""
    return Preferences(user_id=user_id)


async def set_preferences(*, user_id: UUID, change: PreferencesChange) -> Preferences:
    """Change the given preferences; omitted ones keep their current (or default) value."""
    values = {
        name: value.value
        for name, value in (
            ("coach_voice", change.coach_voice),
            ("correction_style", change.correction_style),
            ("target_level", change.target_level),
            ("explanation_language", change.explanation_language),
        )
        if value is not None
    }
    if not values:
        raise SetPreferencesRefused(
            SetPreferencesErrorCode.NOTHING_TO_CHANGE, "Give at least one preference to change."
        )
    if not await Preferences.filter(user_id=user_id).update(**values):
        try:
            return await Preferences.create(user_id=user_id, **values)
        except IntegrityError:
            await Preferences.filter(user_id=user_id).update(**values)
    return await Preferences.get(user_id=user_id)


async def plans_for_users(user_ids: Sequence[UUID]) -> list[CallPlan | None]:
    """Each learner's plan, or None (a DataLoader batch function)."""
    rows = {p.user_id: p for p in await CallPlan.filter(user_id__in=list(user_ids))}
    return [rows.get(uid) for uid in user_ids]


async def preferences_for_users(user_ids: Sequence[UUID]) -> list[Preferences]:
    """Each learner's preferences, defaults where none were saved (a DataLoader batch function)."""
    rows = {p.user_id: p for p in await Preferences.filter(user_id__in=list(user_ids))}
    return [rows.get(uid) or default_preferences(uid) for uid in user_ids]
