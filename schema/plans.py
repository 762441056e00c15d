"""Call plans and coaching preferences in the schema, with their mutations' inputs and errors."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Self

import strawberry

from db.models.plans import CallPlan as CallPlanRow
from db.models.plans import Preferences as PreferencesRow
from domain import plans
from domain.calls_scheduling import PlanSchedule, next_slot
from schema.cefr import CefrLevel
from schema.errors import RefusalError, UserError, enum_type

# The domain enums, marked in place as schema enums (see schema/cefr.py).
DayOfWeek = plans.DayOfWeek
CoachVoice = plans.CoachVoice
CorrectionStyle = plans.CorrectionStyle
ExplanationLanguage = plans.ExplanationLanguage
SetCallPlanErrorCode = plans.SetCallPlanErrorCode
SetPreferencesErrorCode = plans.SetPreferencesErrorCode
enum_type(DayOfWeek, "DayOfWeek", "A day of the week, in the plan's own timezone.",
          {day.name: day.name.capitalize() + "." for day in DayOfWeek})
enum_type(CoachVoice, "CoachVoice", "The voice and manner of the AI coach.", {
    "FRIENDLY_FEMALE": "A warm, chatty female voice.",
    "FRIENDLY_MALE": "A warm, chatty male voice.",
    "CALM_FEMALE": "A slow, patient female voice.",
    "CALM_MALE": "A slow, patient male voice.",
    "ENERGETIC_FEMALE": "A lively, fast-paced female voice.",
    "ENERGETIC_MALE": "A lively, fast-paced male voice.",
})
enum_type(CorrectionStyle, "CorrectionStyle", "How the coach corrects mistakes.", {
    "GENTLE": "Repeats the phrase correctly and moves on without stopping the conversation.",
    "IMMEDIATE": "Stops to correct each mistake and has the learner say it again.",
    "END_OF_CALL": "Lets the learner talk and goes through the main mistakes at the end.",
})
enum_type(
    ExplanationLanguage,
    "ExplanationLanguage",
    "The language the coach may switch to when a mistake needs explaining.",
    {lang.name: f"{lang.name.capitalize()} (ISO 639-1 `{lang.value}`)."
     for lang in ExplanationLanguage},
)
enum_type(SetCallPlanErrorCode, "SetCallPlanErrorCode", "Why `setCallPlan` refused.", {
    "INVALID_DAYS": "No day of the week was given.",
    "INVALID_LOCAL_TIME": "`localTime` is not HH:MM on a 24-hour clock.",
    "INVALID_TIMEZONE": "`timezone` is not an IANA timezone name.",
    "INVALID_MINUTES": "`minutesPerCall` is outside 5 to 60.",
})
enum_type(SetPreferencesErrorCode, "SetPreferencesErrorCode", "Why `setPreferences` refused.", {
    "NOTHING_TO_CHANGE": "The input gave no preference to change.",
})


@strawberry.type(description="When the coach calls the learner on their own.")
class CallPlan:
    days_of_week: list[DayOfWeek] = strawberry.field(description="The days calls happen.")
    local_time: str = strawberry.field(description="The time of day, HH:MM (24-hour).")
    timezone: str = strawberry.field(
        description="The IANA timezone `localTime` is in; daylight-saving changes are followed."
    )
    minutes_per_call: int = strawberry.field(description="How long each call lasts at most.")
    active: bool = strawberry.field(description="False while the plan is paused.")
    next_call_at: datetime | None = strawberry.field(
        description="When the next planned call is due (UTC); null while paused. A time that a "
        "daylight-saving change skips is called at the change; a repeated time, at its first "
        "occurrence."
    )

    @classmethod
    def from_model(cls, row: CallPlanRow, *, now: datetime) -> Self:
        schedule = PlanSchedule.of(
            days_of_week=row.days_of_week, local_time=row.local_time, timezone=row.timezone,
            effective_from=row.effective_from,
        )
        return cls(
            days_of_week=[DayOfWeek(d) for d in row.days_of_week],
            local_time=row.local_time,
            timezone=row.timezone,
            minutes_per_call=row.minutes_per_call,
            active=row.active,
            next_call_at=next_slot(schedule, now) if row.active else None,
        )


@strawberry.type(description="How the AI coach talks to the learner on every call.")
class Preferences:
    coach_voice: CoachVoice = strawberry.field(description="The coach's voice.")
    correction_style: CorrectionStyle = strawberry.field(description="How mistakes are corrected.")
    target_level: CefrLevel = strawberry.field(description="The level the learner is aiming for.")
    explanation_language: ExplanationLanguage = strawberry.field(
        description="The language explanations may use."
    )

    @classmethod
    def from_model(cls, row: PreferencesRow) -> Self:
        return cls(
            coach_voice=CoachVoice(row.coach_voice),
            correction_style=CorrectionStyle(row.correction_style),
            target_level=CefrLevel(row.target_level),
            explanation_language=ExplanationLanguage(row.explanation_language),
        )


@strawberry.type(
    description="`setCallPlan` refused: see `code` and `field`; the plan is unchanged."
)
class SetCallPlanError(RefusalError, UserError):
    code: SetCallPlanErrorCode = strawberry.field(description="Why it was refused.")


@strawberry.type(description="`setPreferences` refused; the preferences are unchanged.")
class SetPreferencesError(RefusalError, UserError):
    code: SetPreferencesErrorCode = strawberry.field(description="Why it was refused.")


SetCallPlanResult = Annotated[
    CallPlan | SetCallPlanError,
    strawberry.union("SetCallPlanResult", description="The saved plan, or why not."),
]
SetPreferencesResult = Annotated[
    Preferences | SetPreferencesError,
    strawberry.union("SetPreferencesResult", description="The saved preferences, or why not."),
]


@strawberry.input(description="A whole call plan; it replaces the learner's current one.")
class CallPlanInput:
    days_of_week: list[DayOfWeek] = strawberry.field(description="At least one day.")
    local_time: str = strawberry.field(description="HH:MM on a 24-hour clock, e.g. 18:30.")
    timezone: str = strawberry.field(description="An IANA timezone name, e.g. Europe/Istanbul.")
    minutes_per_call: int = strawberry.field(description="5 to 60 minutes.")
    active: bool = strawberry.field(default=True, description="False to pause the plan.")


@strawberry.input(description="Preferences to change; omitted ones stay as they are.")
class PreferencesInput:
    coach_voice: CoachVoice | None = strawberry.field(
        default=None, description="The coach's voice."
    )
    correction_style: CorrectionStyle | None = strawberry.field(
        default=None, description="How mistakes are corrected."
    )
    target_level: CefrLevel | None = strawberry.field(
        default=None, description="The level the learner is aiming for."
    )
    explanation_language: ExplanationLanguage | None = strawberry.field(
        default=None, description="The language explanations may use."
    )
