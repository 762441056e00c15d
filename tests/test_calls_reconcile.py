"""The reconciler settles calls whose webhooks never arrived, from `GET /call/{id}`."""

from __future__ import annotations

import uuid
from datetime import timedelta

import httpx

from db.models.calls import Call
from domain.jobs import JobRun
from main import Runtime
from tests.calls_harness import (
    Learner,
    balance_of,
    call_gid,
    get_call,
    new_learner,
    wait_for_playback,
)

VAPI = "/sandbox/vapi"


async def run_reconciler(runtime: Runtime) -> None:
    """Run the periodic job now, as the worker would at its next minute."""
    handler = runtime.worker.handlers["reconcile_calls"]
    await handler({}, JobRun(job_id=0, kind="reconcile_calls", attempt=1, max_attempts=5,
                             now=runtime.services.clock.now()))


async def lost_vapi_call(http: httpx.AsyncClient, runtime: Runtime, learner: Learner) -> str:
    """A call the twin played to the end whose webhooks all missed us (unknown externalId)."""
    response = await http.post(
        f"{VAPI}/call",
        headers={"Authorization": f"Bearer {runtime.settings.vapi_api_key}"},
        json={"phoneNumberId": "pn", "assistantId": "asst",
              "customer": {"number": learner.phone, "externalId": str(uuid.uuid4())},
              "assistantOverrides": {"variableValues": {"firstName": "Ada"}}},
    )
    assert response.status_code == 201, response.text
    provider_id: str = response.json()["id"]
    await wait_for_playback(http, provider_id)
    return provider_id


async def stuck_call(runtime: Runtime, learner: Learner, provider_id: str | None,
                     status: str = "ringing") -> Call:
    return await Call.create(
        user_id=learner.user_id, status=status, provider_call_id=provider_id,
        requested_at=runtime.services.clock.now() - timedelta(hours=1), max_duration_s=600,
    )


async def test_a_call_stuck_past_its_max_duration_is_finished_from_vapi(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    # given
    learner = await new_learner(client, runtime, balance=2000)
    provider_id = await lost_vapi_call(client, runtime, learner)
    call = await stuck_call(runtime, learner, provider_id)

    # when
    await run_reconciler(runtime)

    # then
    found = await get_call(client, call_gid(call.id))
    assert found is not None
    assert (found["status"], found["endedReason"]) == ("ENDED", "customer-ended-call")
    assert len(found["transcript"]) == 12
    assert found["recordingUrl"] is not None
    assert found["chargeMinor"] > 0
    assert await balance_of(client) == 2000 - found["chargeMinor"]

    # and running it again changes nothing
    await run_reconciler(runtime)
    assert await get_call(client, call_gid(call.id)) == found


async def test_a_recent_call_is_left_alone(client: httpx.AsyncClient, runtime: Runtime) -> None:
    learner = await new_learner(client, runtime, balance=2000)
    provider_id = await lost_vapi_call(client, runtime, learner)
    call = await Call.create(user_id=learner.user_id, status="ringing",
                             provider_call_id=provider_id,
                             requested_at=runtime.services.clock.now(), max_duration_s=600)

    await run_reconciler(runtime)

    found = await get_call(client, call_gid(call.id))
    assert found is not None and (found["status"], found["chargeMinor"]) == ("RINGING", None)


async def test_calls_vapi_never_confirmed_or_no_longer_knows_fail_free(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    # given
    learner = await new_learner(client, runtime, balance=2000)
    unconfirmed = await stuck_call(runtime, learner, None, status="queued")
    unknown = await stuck_call(runtime, learner, f"gone-{uuid.uuid4()}")

    # when
    await run_reconciler(runtime)

    # then
    results = []
    for call in (unconfirmed, unknown):
        found = await get_call(client, call_gid(call.id))
        assert found is not None
        results.append((found["status"], found["failureReason"], found["chargeMinor"]))
    assert results == [
        ("FAILED", "VAPI never confirmed the call.", None),
        ("FAILED", "VAPI has no record of the call.", None),
    ]
    assert await balance_of(client) == 2000
