"""Driving analyses from the outside: calls ended by signed VAPI reports, the Claude twin's
fault queue and request log, and polling `call { analysis }` through GraphQL.

A call is seeded as the dial job leaves it (ringing at VAPI) and finished by a signed
end-of-call report carrying the transcript the test chooses, so the whole path after it is the
real one: webhook → calls domain → `analyze` job → Claude twin → stored analysis.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import httpx

from db.models.calls import Call
from db.models.ops import Job
from domain.analysis_run import ANALYZE_JOB
from domain.clock import ManualClock
from main import Runtime
from tests.calls_harness import Learner, call_gid, new_provider_id, post_vapi
from tests.conftest import gql

CLAUDE = "/sandbox/anthropic"

ANALYSIS_FIELDS = """
  id status statusReason grammar vocabulary fluency pronunciation pronunciationBasis
  pronunciationConfidence cefrLevel summary strengths nextFocus model promptVersion attempts
  completedAt callId
  corrections { id original corrected explanation category at callId }
  vocabularySuggestions { word meaning example }
  fluencyEvidence { learnerWords learnerTurns timedTurns speakingSeconds wordsPerMinute
                    longPauses longestPauseSeconds }
  pronunciationEvidence { learnerWords unclearMarkers turnsWithConfidence meanConfidence
                          lowConfidenceTurns }
"""
CALL_ANALYSIS = "query($id: ID!) { call(id: $id) { id analysis { " + ANALYSIS_FIELDS + " } } }"

#: (role, text, start seconds, end seconds) — role "coach" or "learner".
Line = tuple[str, str, float, float]

POOR: list[Line] = [
    ("coach", "Hello! What did you do at the weekend?", 0.0, 3.0),
    ("learner", "Um, I goed to shop. Uh, um, I buyed bread.", 3.5, 9.0),
    ("coach", "Nice! Did your brother come?", 9.2, 9.8),
    ("learner", "No. He don't like shop. It is more better at home.", 10.0, 14.0),
]
RICH: list[Line] = [
    ("coach", "Hello! What did you do at the weekend?", 0.0, 3.0),
    ("learner", "On Saturday I went to the farmers market near my flat, because I wanted "
     "fresh vegetables for a dinner party I was hosting.", 3.5, 20.0),
    ("coach", "Sounds lovely. How did it go?", 21.0, 24.0),
    ("learner", "It went remarkably well, although the oven broke halfway through, so we "
     "improvised and grilled everything outside on the balcony instead.", 24.5, 45.0),
    ("coach", "Great improvisation!", 46.0, 48.0),
    ("learner", "Honestly, my guests seemed to enjoy the chaos, and we ended up discussing "
     "travel plans, favourite novels and the challenges of learning languages as adults.",
     48.5, 70.0),
    ("coach", "Which languages?", 70.0, 72.0),
    ("learner", "Mostly Spanish and Portuguese, which are similar enough to be confusing, "
     "though watching films with subtitles helps me distinguish their pronunciation "
     "considerably.", 72.5, 95.0),
]
SILENT: list[Line] = [
    ("coach", "Hello! Can you hear me?", 0.0, 2.0),
    ("coach", "I will call you again later. Bye!", 8.0, 10.0),
]


def report(
    *, provider_call_id: str, call_id: UUID, lines: Sequence[Line], started_at: datetime,
    seconds: float | None = None,
) -> dict[str, Any]:
    """A signed-ready end-of-call report of an answered call with ``lines`` as its messages."""
    duration = seconds if seconds is not None else max(end for *_, end in lines) + 2.0
    ended_at = started_at + timedelta(seconds=duration)
    return {
        "type": "end-of-call-report",
        "endedReason": "customer-ended-call",
        "startedAt": started_at.isoformat().replace("+00:00", "Z"),
        "endedAt": ended_at.isoformat().replace("+00:00", "Z"),
        "durationSeconds": duration,
        "artifact": {"messages": [
            {"role": "bot" if role == "coach" else "user", "message": text,
             "secondsFromStart": start, "duration": round((end - start) * 1000)}
            for role, text, start, end in lines
        ]},
        "call": {"id": provider_call_id, "customer": {"externalId": str(call_id)}},
    }


async def finished_call(
    client: httpx.AsyncClient, runtime: Runtime, learner: Learner, lines: Sequence[Line], *,
    started_at: datetime | None = None, topic_id: UUID | None = None,
) -> str:
    """A call of ``learner`` ended by a signed end-of-call report; returns its global id."""
    provider_id = new_provider_id()
    now = runtime.services.clock.now()
    call = await Call.create(
        user_id=learner.user_id, status="ringing", provider_call_id=provider_id,
        requested_at=started_at or now, max_duration_s=600, topic_id=topic_id,
    )
    message = report(provider_call_id=provider_id, call_id=call.id, lines=lines,
                     started_at=started_at or now)
    response = await post_vapi(client, runtime, message)
    assert response.status_code == 200, response.text
    assert response.json()["outcome"] == "applied", response.text
    return call_gid(call.id)


async def analysis_of(client: httpx.AsyncClient, call_id: str) -> dict[str, Any] | None:
    call = (await gql(client, CALL_ANALYSIS, {"id": call_id}))["data"]["call"]
    assert call is not None
    found: dict[str, Any] | None = call["analysis"]
    return found


async def wait_for_analysis(
    client: httpx.AsyncClient,
    call_id: str,
    until: Callable[[dict[str, Any] | None], bool] = lambda a: bool(
        a and a["status"] in ("DONE", "FAILED", "SKIPPED")
    ),
    *,
    clock: ManualClock | None = None,
    timeout: float = 20.0,
) -> dict[str, Any]:
    """Poll `call { analysis }` until ``until`` holds; with ``clock``, move time on a few
    seconds each round so retries scheduled with backoff come due without real waiting."""
    deadline = time.monotonic() + timeout
    while True:
        found = await analysis_of(client, call_id)
        if until(found):
            assert found is not None
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"analysis never reached the expected state: {found}")
        if clock is not None:
            await skip_to_next_analysis_job(clock)
        await asyncio.sleep(0.05)


async def skip_to_next_analysis_job(clock: ManualClock) -> None:
    """Move the clock to the next analysis job waiting on a backoff, if one is."""
    now = clock.now()
    upcoming = await Job.filter(kind=ANALYZE_JOB, status="queued", run_at__gt=now).order_by(
        "run_at").first()
    if upcoming is not None:
        clock.advance(upcoming.run_at - now + timedelta(milliseconds=10))


async def quiesce(runtime: Runtime, timeout: float = 20.0) -> None:
    """Wait until no analysis job is queued or running (other tests' calls included), so the
    Claude twin's fault queue is consumed only by the test that fills it."""
    deadline = time.monotonic() + timeout
    while await Job.filter(kind=ANALYZE_JOB, status__in=["queued", "running"]).exists():
        if time.monotonic() > deadline:
            raise AssertionError("analysis jobs never settled")
        clock = runtime.services.clock
        assert isinstance(clock, ManualClock)
        await skip_to_next_analysis_job(clock)
        await asyncio.sleep(0.05)


async def queue_faults(client: httpx.AsyncClient, *faults: dict[str, Any]) -> None:
    response = await client.post(f"{CLAUDE}/_control/faults", json={"queue": list(faults)})
    assert response.status_code == 200, response.text


async def clear_faults(client: httpx.AsyncClient) -> None:
    assert (await client.delete(f"{CLAUDE}/_control/faults")).status_code == 200


async def claude_requests(client: httpx.AsyncClient) -> list[dict[str, Any]]:
    response = await client.get(f"{CLAUDE}/_control/requests")
    assert response.status_code == 200
    found: list[dict[str, Any]] = response.json()
    return found


def user_text(request: dict[str, Any]) -> str:
    """The user message of a logged Messages request."""
    content = request["body"]["messages"][-1]["content"]
    return content if isinstance(content, str) else "".join(b["text"] for b in content)


async def requests_mentioning(client: httpx.AsyncClient, marker: str) -> list[dict[str, Any]]:
    return [r for r in await claude_requests(client) if marker in user_text(r)]


async def object_to_analysis(client: httpx.AsyncClient) -> None:
    """The signed-in learner objects to the analysis of their calls (privacy domain)."""
    body = await gql(client, """mutation { setProcessingObjections(analysis: true) {
      __typename } }""")
    assert body["data"]["setProcessingObjections"]["__typename"] == "PrivacySettings", body
