"""``/metrics`` exposes every listed series after traffic."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import httpx
from prometheus_client.parser import text_string_to_metric_families
from starlette.applications import Starlette

from db.models.ops import Job
from main import Runtime
from tests.conftest import gql, register
from tests.gql_ws import MY_EVENTS, connect


async def scrape(client: httpx.AsyncClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


async def test_operations_are_counted_and_timed_by_name_and_outcome(
    client: httpx.AsyncClient,
) -> None:
    name = f"MetricsProbe{uuid.uuid4().hex[:8]}"

    await gql(client, f"query {name} {{ __typename }}")
    await gql(client, f"query {name} {{ me {{ id }} sessions {{ id }} }}", expect_errors=True)
    await gql(client, f"query {name} {{ nope }}", expect_errors=True)
    samples = await scrape(client)

    for outcome in ("ok", "error", "rejected"):
        labels = (("operation", name), ("outcome", outcome))
        assert samples[("cf_graphql_requests_total", labels)] == 1.0
        assert samples[("cf_graphql_request_duration_seconds_count", labels)] == 1.0
        bucket = tuple(sorted([*labels, ("le", "+Inf")]))
        assert samples[("cf_graphql_request_duration_seconds_bucket", bucket)] == 1.0


async def test_job_queue_depth_and_age_are_read_at_scrape_time(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    kind = f"metrics-probe-{uuid.uuid4().hex[:8]}"
    now = runtime.services.clock.now()
    due = await Job.create(kind=kind, run_at=now - timedelta(seconds=90), payload={})
    later = await Job.create(kind=kind, run_at=now + timedelta(hours=1), payload={})
    try:
        samples = await scrape(client)
    finally:
        await Job.filter(id__in=[due.id, later.id]).delete()

    assert samples[("cf_job_queue_depth", (("kind", kind),))] == 2.0
    assert 90.0 <= samples[("cf_job_queue_oldest_age_seconds", (("kind", kind),))] < 120.0
    assert samples[("cf_jobs_running", (("kind", kind),))] == 0.0


async def test_websocket_connections_and_subscriptions_are_gauged(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    await register(client)
    before = await scrape(client)
    connections = before[("cf_websocket_connections", ())]
    subscriptions = before[("cf_graphql_active_subscriptions", ())]

    async with connect(app, cookies=client.cookies) as ws:
        assert (await ws.init())["type"] == "connection_ack"
        await ws.subscribe(MY_EVENTS)
        for _ in range(100):
            during = await scrape(client)
            if during[("cf_graphql_active_subscriptions", ())] == subscriptions + 1:
                break
            await asyncio.sleep(0.02)
    after = await scrape(client)

    assert during[("cf_websocket_connections", ())] == connections + 1
    assert during[("cf_graphql_active_subscriptions", ())] == subscriptions + 1
    assert after[("cf_websocket_connections", ())] == connections
    assert after[("cf_graphql_active_subscriptions", ())] == subscriptions


async def test_webhook_deliveries_are_counted_by_provider_and_outcome(
    client: httpx.AsyncClient,
) -> None:
    unsigned = (("outcome", "invalid"), ("provider", "stripe"))
    stray = (("outcome", "invalid"), ("provider", "other"))
    before = await scrape(client)

    forged = await client.post("/webhooks/stripe", content=b"{}",
                               headers={"stripe-signature": "t=1,v1=00"})
    await client.post(f"/webhooks/{uuid.uuid4().hex}", content=b"{}")
    after = await scrape(client)

    assert forged.status_code == 400
    assert after[("cf_webhook_deliveries_total", unsigned)] == before.get(
        ("cf_webhook_deliveries_total", unsigned), 0.0) + 1
    assert after[("cf_webhook_deliveries_total", stray)] == before.get(
        ("cf_webhook_deliveries_total", stray), 0.0) + 1


async def test_claude_series_are_exposed(client: httpx.AsyncClient, runtime: Runtime) -> None:
    model = f"claude-probe-{uuid.uuid4().hex[:6]}"

    runtime.services.metrics.claude_request(model=model, outcome="ok", seconds=1.5,
                                            input_tokens=1200, output_tokens=300)
    samples = await scrape(client)

    assert samples[("cf_claude_request_duration_seconds_count",
                    (("model", model), ("outcome", "ok")))] == 1.0
    assert samples[("cf_claude_tokens_total", (("kind", "input"), ("model", model)))] == 1200.0
    assert samples[("cf_claude_tokens_total", (("kind", "output"), ("model", model)))] == 300.0

