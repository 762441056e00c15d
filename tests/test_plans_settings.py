"""`setCallPlan` and `setPreferences`, read back on `me`, over GraphQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from domain.clock import ManualClock
from tests.conftest import gql
from tests.test_topics_catalog import signed_in

PLAN_FIELDS = "daysOfWeek localTime timezone minutesPerCall active nextCallAt"
SET_PLAN = f"""
mutation($input: CallPlanInput!) {{ setCallPlan(input: $input) {{
  __typename
  ... on CallPlan {{ {PLAN_FIELDS} }}
  ... on SetCallPlanError {{ code field message }}
}} }}"""
PREF_FIELDS = "coachVoice correctionStyle targetLevel explanationLanguage"
SET_PREFS = f"""
mutation($input: PreferencesInput!) {{ setPreferences(input: $input) {{
  __typename
  ... on Preferences {{ {PREF_FIELDS} }}
  ... on SetPreferencesError {{ code field message }}
}} }}"""
ME = f"{{ me {{ cefrLevel callPlan {{ {PLAN_FIELDS} }} preferences {{ {PREF_FIELDS} }} }} }}"
DEFAULT_PREFS = {"coachVoice": "FRIENDLY_FEMALE", "correctionStyle": "GENTLE",
                 "targetLevel": "B2", "explanationLanguage": "ENGLISH"}


@pytest.fixture
async def frozen(clock: ManualClock) -> AsyncIterator[ManualClock]:
    """The service clock, stopped; real time again after the test."""
    yield clock
    clock.unfreeze()


def plan_input(**overrides: Any) -> dict[str, Any]:
    return {"daysOfWeek": ["MONDAY", "THURSDAY"], "localTime": "18:30",
            "timezone": "Europe/Istanbul", "minutesPerCall": 15, **overrides}


async def me(client: httpx.AsyncClient) -> dict[str, Any]:
    found: dict[str, Any] = (await gql(client, ME))["data"]["me"]
    return found


async def test_new_learner_has_no_plan_default_preferences_and_no_level(
    client: httpx.AsyncClient,
) -> None:
    await signed_in(client)

    assert await me(client) == {"cefrLevel": None, "callPlan": None,
                                "preferences": DEFAULT_PREFS}


async def test_plan_is_saved_normalised_and_read_back_with_its_next_call(
    client: httpx.AsyncClient, frozen: ManualClock
) -> None:
    await signed_in(client)
    frozen.freeze(datetime(2026, 5, 4, 15, 0, tzinfo=UTC))  # Monday 18:00 in Istanbul

    saved = (await gql(client, SET_PLAN, {"input": plan_input(
        daysOfWeek=["THURSDAY", "MONDAY", "MONDAY"], localTime="9:05")}))["data"]["setCallPlan"]

    expected = {"daysOfWeek": ["MONDAY", "THURSDAY"], "localTime": "09:05",
                "timezone": "Europe/Istanbul", "minutesPerCall": 15, "active": True,
                "nextCallAt": "2026-05-07T06:05:00+00:00"}
    assert saved == {"__typename": "CallPlan", **expected}
    assert (await me(client))["callPlan"] == expected


async def test_next_call_follows_daylight_saving_time(
    client: httpx.AsyncClient, frozen: ManualClock
) -> None:
    await signed_in(client)
    frozen.freeze(datetime(2026, 3, 7, 12, 0, tzinfo=UTC))  # the Saturday before US DST

    saved = (await gql(client, SET_PLAN, {"input": plan_input(
        daysOfWeek=["SUNDAY", "MONDAY"], localTime="02:30", timezone="America/New_York")}))[
        "data"]["setCallPlan"]

    # 02:30 does not exist on 8 March 2026 in New York: the call is at the change, 03:00 EDT.
    assert saved["nextCallAt"] == "2026-03-08T07:00:00+00:00"
    frozen.freeze(datetime(2026, 3, 8, 7, 0, 1, tzinfo=UTC))
    assert (await me(client))["callPlan"]["nextCallAt"] == "2026-03-09T06:30:00+00:00"


async def test_a_later_plan_replaces_the_earlier_one_and_can_pause_it(
    client: httpx.AsyncClient,
) -> None:
    await signed_in(client)
    await gql(client, SET_PLAN, {"input": plan_input()})

    paused = (await gql(client, SET_PLAN, {"input": plan_input(
        daysOfWeek=["SATURDAY"], minutesPerCall=60, active=False)}))["data"]["setCallPlan"]

    assert paused == {"__typename": "CallPlan", "daysOfWeek": ["SATURDAY"], "localTime": "18:30",
                      "timezone": "Europe/Istanbul", "minutesPerCall": 60, "active": False,
                      "nextCallAt": None}
    assert (await me(client))["callPlan"] == {k: v for k, v in paused.items()
                                              if k != "__typename"}


@pytest.mark.parametrize(
    ("overrides", "code", "field", "message"),
    [
        ({"daysOfWeek": []}, "INVALID_DAYS", "daysOfWeek", "Choose at least one day of the week."),
        ({"localTime": "24:00"}, "INVALID_LOCAL_TIME", "localTime",
         "Give the time as HH:MM on a 24-hour clock, e.g. 18:30."),
        ({"localTime": "6pm"}, "INVALID_LOCAL_TIME", "localTime",
         "Give the time as HH:MM on a 24-hour clock, e.g. 18:30."),
        ({"localTime": "18:30:00"}, "INVALID_LOCAL_TIME", "localTime",
         "Give the time as HH:MM on a 24-hour clock, e.g. 18:30."),
        ({"timezone": "Mars/Olympus_Mons"}, "INVALID_TIMEZONE", "timezone",
         "Give an IANA timezone name, e.g. Europe/Istanbul."),
        ({"timezone": "../../etc/passwd"}, "INVALID_TIMEZONE", "timezone",
         "Give an IANA timezone name, e.g. Europe/Istanbul."),
        ({"timezone": ""}, "INVALID_TIMEZONE", "timezone",
         "Give an IANA timezone name, e.g. Europe/Istanbul."),
        ({"minutesPerCall": 4}, "INVALID_MINUTES", "minutesPerCall",
         "A call lasts 5 to 60 minutes."),
        ({"minutesPerCall": 61}, "INVALID_MINUTES", "minutesPerCall",
         "A call lasts 5 to 60 minutes."),
    ],
)
async def test_invalid_plan_is_refused_and_the_old_plan_stays(
    client: httpx.AsyncClient, overrides: dict[str, Any], code: str, field: str, message: str
) -> None:
    await signed_in(client)
    await gql(client, SET_PLAN, {"input": plan_input()})
    before = await me(client)

    result = (await gql(client, SET_PLAN, {"input": plan_input(**overrides)}))["data"][
        "setCallPlan"]

    assert result == {"__typename": "SetCallPlanError", "code": code, "field": field,
                      "message": message}
    assert await me(client) == before


async def test_boundary_minutes_are_accepted(client: httpx.AsyncClient) -> None:
    await signed_in(client)

    for minutes in (5, 60):
        result = (await gql(client, SET_PLAN, {"input": plan_input(minutesPerCall=minutes)}))[
            "data"]["setCallPlan"]
        assert result["minutesPerCall"] == minutes


async def test_unknown_day_name_is_rejected_by_the_schema(client: httpx.AsyncClient) -> None:
    await signed_in(client)

    body = await gql(client, SET_PLAN, {"input": plan_input(daysOfWeek=["FUNDAY"])},
                     expect_errors=True)

    assert body.get("data") is None
    assert "FUNDAY" in body["errors"][0]["message"]
    assert (await me(client))["callPlan"] is None


async def test_preferences_change_only_what_is_given(client: httpx.AsyncClient) -> None:
    await signed_in(client)

    first = (await gql(client, SET_PREFS, {"input": {"coachVoice": "CALM_MALE",
                                                     "targetLevel": "C1"}}))["data"][
        "setPreferences"]
    second = (await gql(client, SET_PREFS, {"input": {"correctionStyle": "END_OF_CALL",
                                                      "explanationLanguage": "TURKISH"}}))[
        "data"]["setPreferences"]

    assert first == {**DEFAULT_PREFS, "__typename": "Preferences", "coachVoice": "CALM_MALE",
                     "targetLevel": "C1"}
    expected = {"coachVoice": "CALM_MALE", "correctionStyle": "END_OF_CALL",
                "targetLevel": "C1", "explanationLanguage": "TURKISH"}
    assert second == {"__typename": "Preferences", **expected}
    assert (await me(client))["preferences"] == expected


async def test_empty_preferences_input_is_refused(client: httpx.AsyncClient) -> None:
    await signed_in(client)

    result = (await gql(client, SET_PREFS, {"input": {}}))["data"]["setPreferences"]

    assert result == {"__typename": "SetPreferencesError", "code": "NOTHING_TO_CHANGE",
                      "field": None, "message": "Give at least one preference to change."}
    assert (await me(client))["preferences"] == DEFAULT_PREFS


@pytest.mark.parametrize(
    ("mutation", "variables"),
    [(SET_PLAN, {"input": plan_input()}), (SET_PREFS, {"input": {"coachVoice": "CALM_MALE"}})],
)
async def test_plan_and_preferences_require_sign_in(
    client: httpx.AsyncClient, mutation: str, variables: dict[str, Any]
) -> None:
    body = await gql(client, mutation, variables, expect_errors=True)

    assert body["data"] is None
    assert [(e["message"], e["extensions"]["code"]) for e in body["errors"]] == [
        ("Sign in to do this.", "UNAUTHENTICATED")
    ]
