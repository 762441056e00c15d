"""Call plan and preferences resolvers: a learner sets their own; `me` reads them back."""

from __future__ import annotations

from typing import Annotated

import strawberry

from domain import plans
from resolvers.context import Context
from schema.plans import (
    CallPlan,
    CallPlanInput,
    Preferences,
    PreferencesInput,
    SetCallPlanError,
    SetCallPlanResult,
    SetPreferencesError,
    SetPreferencesResult,
)

Info = strawberry.Info[Context, None]


async def set_call_plan(
    info: Info,
    input: Annotated[CallPlanInput, strawberry.argument(description="The whole new plan.")],
) -> SetCallPlanResult:
    principal = info.context.require_principal()
    change = plans.PlanChange(
        days_of_week=[day.value for day in input.days_of_week],
        local_time=input.local_time,
        timezone=input.timezone,
        minutes_per_call=input.minutes_per_call,
        active=input.active,
    )
    now = info.context.now
    try:
        row = await plans.set_call_plan(user_id=principal.user_id, change=change, now=now)
    except plans.SetCallPlanRefused as exc:
        return SetCallPlanError.from_refusal(exc)
    return CallPlan.from_model(row, now=now)


async def set_preferences(
    info: Info,
    input: Annotated[PreferencesInput, strawberry.argument(
        description="The preferences to change.")],
) -> SetPreferencesResult:
    principal = info.context.require_principal()
    # The schema enums are the domain enums themselves, so values pass straight through.
    change = plans.PreferencesChange(
        coach_voice=input.coach_voice,
        correction_style=input.correction_style,
        target_level=input.target_level,
        explanation_language=input.explanation_language,
    )
    try:
        row = await plans.set_preferences(user_id=principal.user_id, change=change)
    except plans.SetPreferencesRefused as exc:
        return SetPreferencesError.from_refusal(exc)
    return Preferences.from_model(row)


@strawberry.type
class PlansMutation:
    set_call_plan: SetCallPlanResult = strawberry.mutation(
        resolver=set_call_plan,
        description="Set when the coach calls the signed-in learner on their own. It replaces "
        "the previous plan and applies from now: a time already passed today is not called "
        "late. Requires sign-in.",
    )
    set_preferences: SetPreferencesResult = strawberry.mutation(
        resolver=set_preferences,
        description="Change how the coach talks on the signed-in learner's calls. Requires "
        "sign-in.",
    )
