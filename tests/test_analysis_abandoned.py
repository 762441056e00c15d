"""An analysis whose last attempt's worker died is settled as FAILED, never left RUNNING."""

from __future__ import annotations

import uuid
from datetime import timedelta

import httpx

from db.models.analysis import Analysis
from db.models.ops import Job
from domain.analysis_run import ANALYZE_JOB
from main import Runtime
from schema.ids import decode_uuid
from tests.analysis_harness import RICH, finished_call, quiesce, wait_for_analysis
from tests.calls_harness import new_learner
from tests.conftest import gql

REANALYSE = """mutation($id: ID!) { requestReanalysis(callId: $id) {
  __typename ... on Analysis { status } ... on RequestReanalysisError { code } } }"""


async def test_a_lapsed_last_attempt_fails_the_analysis_and_it_can_be_asked_again(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    # given an analysed call, then the state a crash leaves behind: the analysis RUNNING and
    # its job leased by a worker that died during the last allowed attempt
    learner = await new_learner(client, runtime, balance=0)
    await quiesce(runtime)
    call_gid = await finished_call(client, runtime, learner, RICH)
    await wait_for_analysis(client, call_gid)
    call_id = decode_uuid(call_gid, "Call")
    await Analysis.filter(call_id=call_id).update(status="running", completed_at=None)
    now = runtime.services.clock.now()
    await Job.create(
        kind=ANALYZE_JOB, payload={"call_id": str(call_id)}, status="running", attempts=5,
        max_attempts=5, run_at=now - timedelta(minutes=5), locked_by="crashed-worker",
        locked_until=now - timedelta(seconds=1), dedupe_key=f"crashed:{uuid.uuid4()}",
    )

    # when a live worker finds the lapsed lease
    failed = await wait_for_analysis(
        client, call_gid, lambda a: bool(a and a["status"] == "FAILED")
    )

    # then the analysis is FAILED with the reason, and the learner can ask again
    assert failed["statusReason"] == (
        "Analysis did not finish: the worker running the last attempt stopped"
    )
    again = await gql(client, REANALYSE, {"id": call_gid})
    assert again["data"]["requestReanalysis"]["__typename"] == "Analysis"
    done = await wait_for_analysis(client, call_gid, lambda a: bool(a and a["status"] == "DONE"))
    assert done["grammar"] is not None
