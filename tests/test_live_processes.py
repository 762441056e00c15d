"""Live events across real processes: uvicorn serving the app, the npm ``graphql-ws`` client,
two processes sharing PostgreSQL and Redis, and Redis stopped and started under load.

Events are caused the way production causes them: webhooks. Stripe's twin on the process
delivers ``checkout.session.completed`` to its ``/webhooks/stripe``; VAPI's twin plays a whole
call to its ``/webhooks/vapi``; the analysis job then asks Claude's twin.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.calls_harness import START_CALL, unique_phone
from tests.conftest import gql, register
from tests.gql_ws import MY_EVENTS, GqlWs, connect_url
from tests.live_processes import (
    own_database,
    private_redis,
    services,
    unique_prefix,
)
from tests.stripe_twin import StripeTwin, create_top_up, session_of

JS = Path(__file__).parent / "js"
STATUSES = ["REQUESTED", "QUEUED", "RINGING", "IN_PROGRESS", "ENDED"]
BALANCE = "{ me { balance { amountMinor currency } } }"

pytestmark = pytest.mark.slow


async def funded_learner(http: httpx.AsyncClient, amount: int = 2000) -> str:
    """Register on ``http``'s server and top up through its Stripe twin; the access token."""
    signed_in = await register(http, phone=unique_phone())
    await top_up(http, amount)
    token: str = signed_in["accessToken"]
    return token


async def top_up(http: httpx.AsyncClient, amount: int) -> None:
    """A paid top-up: the twin posts the signed webhook to this same server."""
    created = await create_top_up(http, amount)
    assert created["__typename"] == "TopUp", created
    twin = StripeTwin(http, "sk_test_sandbox_stripe", "whsec_sandbox_stripe_webhook_secret")
    await twin.complete(session_of(created))


async def start_call(http: httpx.AsyncClient) -> str:
    started = (await gql(http, START_CALL, {"topicId": None}))["data"]["startCall"]
    assert started["__typename"] == "Call", started
    call_id: str = started["id"]
    return call_id


async def collect_until(conn: GqlWs, op: str, typename: str,
                        timeout: float = 60.0) -> list[dict[str, Any]]:
    """Events of ``op`` up to and including the first ``typename``."""
    got: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while not got or got[-1]["__typename"] != typename:
        left = deadline - time.monotonic()
        assert left > 0, f"no {typename} in {[e['__typename'] for e in got]}"
        got.extend(await conn.events(op, 1, "myEvents", timeout=left))
    return got


def statuses(events: list[dict[str, Any]]) -> list[str]:
    return [e["status"] for e in events if e["__typename"] == "CallStatusChanged"]


def ensure_node_client() -> None:
    if shutil.which("node") is None:
        pytest.skip("node is not installed")
    if not (JS / "node_modules" / "graphql-ws").is_dir():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=JS, check=True,
                       capture_output=True, timeout=300)


async def run_node(*args: str) -> tuple[int, list[dict[str, Any]]]:
    process = await asyncio.create_subprocess_exec(
        "node", str(JS / "follow_call.mjs"), *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 120)
    lines = [json.loads(line) for line in out.decode().splitlines() if line.strip()]
    assert process.returncode is not None
    if process.returncode not in (0, 3):
        raise AssertionError(f"node client failed ({process.returncode}): {lines} {err!r}")
    return process.returncode, lines


async def test_graphql_ws_client_follows_a_sandbox_call_to_its_analysis() -> None:
    # given a running service (sandboxes playing at 2% of real time) and a funded learner
    ensure_node_client()
    async with own_database() as db_url, services(
        {"db_url": db_url, "extra_env": {"SANDBOX_SPEED": "0.02"}}
    ) as (server,), httpx.AsyncClient(base_url=server.base_url) as http:
        token = await funded_learner(http)
        ws_url = server.base_url.replace("http://", "ws://") + "/graphql"

        # when the learner starts a call and the npm graphql-ws client follows it
        call_id = await start_call(http)
        code, events = await run_node(ws_url, token, call_id)
        # and a stranger's token is refused by the same client
        refused_code, refused = await run_node(ws_url, "not-a-token", call_id)

    # then it sees the call move from requested through queued to the end, then the analysis
    assert code == 0
    assert statuses(events) == STATUSES
    types = [e["__typename"] for e in events]
    assert types[0] == "CallStatusChanged" and types[-1] == "AnalysisReady"
    assert types.count("CallEnded") == 1 and "TranscriptLine" in types
    assert types.index("CallEnded") < types.index("AnalysisReady")
    ids = [int(e["eventId"]) for e in events]
    assert ids == sorted(set(ids))
    assert {e["callId"] for e in events} == {call_id}
    ended = next(e for e in events if e["__typename"] == "CallEnded")
    assert ended["status"] == "ENDED" and ended["durationSeconds"] > 0
    assert ended["chargeMinor"] > 0 and ended["currency"] == "USD"
    analysis = events[-1]
    assert analysis["analysisStatus"] == "done" and analysis["cefrLevel"] is not None
    assert all(0 <= v <= 100 for v in analysis["scores"].values())
    assert (refused_code, refused) == (3, [{"closeCode": 4403}])


@pytest.mark.postgres_only
async def test_subscriber_on_one_process_gets_in_order_the_events_of_webhooks_to_another(
) -> None:
    # given two processes on one PostgreSQL and one Redis: A serves dashboards (no worker),
    # B receives the webhooks and runs the jobs
    with private_redis() as redis:
        shared = {"redis_url": redis.url, "redis_prefix": unique_prefix()}
        async with own_database() as db_url, services(
            {"db_url": db_url, "worker": False, **shared},
            {"db_url": db_url, "worker": True, **shared},
        ) as (a, b), httpx.AsyncClient(base_url=b.base_url) as http_b:
            signed_in = await register(http_b, phone=unique_phone())
            token = signed_in["accessToken"]
            auth = {"authorization": f"Bearer {token}"}

            async with connect_url(a.base_url) as on_a:
                assert await on_a.init(auth) == {"type": "connection_ack"}
                op = await on_a.subscribe(MY_EVENTS, {"after": "0"})
                # when Stripe's and VAPI's webhooks reach process B
                await top_up(http_b, 2000)
                await start_call(http_b)
                received = await collect_until(on_a, op, "AnalysisReady")

            # then A received them in log order: exactly what B's log replays
            async with connect_url(b.base_url) as on_b:
                await on_b.init(auth)
                replay = await on_b.subscribe(MY_EVENTS, {"after": "0"})
                logged = await on_b.events(replay, len(received), "myEvents")

    assert [e["eventId"] for e in received] == [e["eventId"] for e in logged]
    assert received[0]["__typename"] == "BalanceChanged" and received[0]["kind"] == "TOP_UP"
    assert statuses(received) == STATUSES
    kinds = [e["__typename"] for e in received]
    assert kinds.index("CallEnded") < kinds.index("AnalysisReady") == len(kinds) - 1


@pytest.mark.postgres_only
async def test_redis_stopped_and_restarted_queries_work_and_nothing_is_lost() -> None:
    # given two processes sharing a Redis that this test controls, and a subscriber on A
    with private_redis() as redis:
        shared = {"redis_url": redis.url, "redis_prefix": unique_prefix()}
        async with own_database() as db_url, services(
            {"db_url": db_url, "worker": False, **shared},
            {"db_url": db_url, "worker": True, **shared},
        ) as (a, b), httpx.AsyncClient(base_url=b.base_url) as http_b, httpx.AsyncClient(
            base_url=a.base_url
        ) as http_a:
            signed_in = await register(http_b, phone=unique_phone())
            auth = {"authorization": f"Bearer {signed_in['accessToken']}"}
            http_a.headers["authorization"] = auth["authorization"]

            async with connect_url(a.base_url) as stays, connect_url(a.base_url) as leaves:
                await stays.init(auth)
                await leaves.init(auth)
                stay_op = await stays.subscribe(MY_EVENTS, {"after": "0"})
                leave_op = await leaves.subscribe(MY_EVENTS, {"after": "0"})
                await top_up(http_b, 500)
                before = await stays.events(stay_op, 1, "myEvents")
                assert await leaves.events(leave_op, 1, "myEvents") == before

                # when Redis stops: queries and webhooks keep working on both processes
                redis.stop()
                await leaves.ws.close()
                for amount in (600, 700):
                    await top_up(http_b, amount)
                for http in (http_a, http_b):
                    balance = (await gql(http, BALANCE))["data"]["me"]["balance"]
                    assert balance == {"amountMinor": 1800, "currency": "USD"}
                during = await stays.events(stay_op, 2, "myEvents", timeout=30)

                # and when Redis is back, live delivery goes on
                redis.start()
                await top_up(http_b, 800)
                after = await stays.events(stay_op, 1, "myEvents", timeout=30)

            # and a dashboard that was away during the outage reconnects with `after`
            async with connect_url(a.base_url) as back:
                await back.init(auth)
                resumed = await back.subscribe(MY_EVENTS, {"after": before[0]["eventId"]})
                caught_up = await back.events(resumed, 3, "myEvents")

    # then the subscriber that stayed got every event once, in order, and so did the one back
    amounts = [e["amountMinor"] for e in before + during + after]
    assert amounts == [500, 1100, 1800, 2600]
    assert [e["eventId"] for e in caught_up] == [e["eventId"] for e in during + after]
