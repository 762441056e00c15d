"""Health probes, GraphiQL, WebSocket transport, error masking and migrations from empty."""

from __future__ import annotations

import os
import tempfile

import httpx
import pytest
from httpx_ws import aconnect_ws
from httpx_ws.transport import ASGIWebSocketTransport
from starlette.applications import Starlette
from tortoise import Tortoise

from db.migrate import apply_migrations
from tests.conftest import create_scratch_database, drop_database, gql, is_postgres, register


async def test_health_and_readiness(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    assert (await client.get("/readyz")).json() == {"status": "ok", "database": "ok"}


async def test_typename_over_get_and_post(client: httpx.AsyncClient) -> None:
    assert (await gql(client, "{ __typename }"))["data"] == {"__typename": "Query"}
    got = await client.get(
        "/graphql", params={"query": "{ __typename }"}, headers={"accept": "application/json"}
    )
    assert got.json() == {"data": {"__typename": "Query"}}


async def test_graphiql_is_served_to_browsers(client: httpx.AsyncClient) -> None:
    page = await client.get("/graphql", headers={"accept": "text/html"})
    assert page.status_code == 200
    assert "graphiql" in page.text.lower()


async def test_query_over_websocket(app: Starlette, client: httpx.AsyncClient) -> None:
    token = (await register(client))["accessToken"]
    async with httpx.AsyncClient(
        transport=ASGIWebSocketTransport(app=app), base_url="http://testserver"
    ) as ws_client, aconnect_ws("/graphql", ws_client, subprotocols=["graphql-transport-ws"]) as ws:
        await ws.send_json(
            {"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}}
        )
        assert (await ws.receive_json())["type"] == "connection_ack"
        await ws.send_json(
            {"id": "1", "type": "subscribe", "payload": {"query": "{ __typename }"}}
        )
        assert await ws.receive_json() == {
            "id": "1",
            "type": "next",
            "payload": {"data": {"__typename": "Query"}},
        }
        assert await ws.receive_json() == {"id": "1", "type": "complete"}


async def test_bad_input_is_a_validation_error_not_a_500(client: httpx.AsyncClient) -> None:
    response = await client.post("/graphql", json={"query": "mutation { login(email: 1) }"})
    assert response.status_code in (200, 400)
    body = response.json()
    assert body["errors"] and "Unexpected error." not in str(body)
    garbage = await client.post(
        "/graphql", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert garbage.status_code == 400


@pytest.fixture
async def empty_database(db_url: str) -> str:
    if is_postgres(db_url):
        scratch = await create_scratch_database(db_url)
        yield scratch
        await drop_database(db_url, scratch)
    else:
        yield f"sqlite://{os.path.join(tempfile.mkdtemp(prefix='cf-mig-'), 'empty.db')}"


async def test_migrations_apply_from_empty_and_are_idempotent(empty_database: str) -> None:
    """Every app's migrations run on a brand-new database, and a second run is a no-op."""
    from tortoise.context import TortoiseContext

    from db.config import APPS

    async with TortoiseContext():
        await apply_migrations(empty_database)
        await apply_migrations(empty_database)
        conn = Tortoise.get_connection("default")
        if is_postgres(empty_database):
            _, rows = await conn.execute_query(
                "SELECT app, name FROM tortoise_migrations ORDER BY app, name"
            )
            _, tables = await conn.execute_query(
                "SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public'"
            )
        else:
            _, rows = await conn.execute_query(
                "SELECT app, name FROM tortoise_migrations ORDER BY app, name"
            )
            _, tables = await conn.execute_query(
                "SELECT name FROM sqlite_master WHERE type = 'table'"
            )
        applied_apps = {row["app"] for row in rows}
        assert applied_apps == set(APPS)
        names = {t["name"] for t in tables}
        assert {
            "users",
            "sessions",
            "calls",
            "ledger_entries",
            "jobs",
            "events",
            "privacy_requests",
        } <= names
        await Tortoise.close_connections()


@pytest.mark.postgres_only
@pytest.mark.slow
async def test_processes_starting_together_migrate_once(db_url: str) -> None:
    """Several processes migrating one empty database at once all succeed (advisory lock)."""
    import asyncio
    import sys

    scratch = await create_scratch_database(db_url)
    try:
        procs = [
            await asyncio.create_subprocess_exec(
                sys.executable,
                "main.py",
                "migrate",
                env={**os.environ, "DATABASE_URL": scratch},
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
            )
            for _ in range(2)
        ]
        results = [await p.communicate() for p in procs]
        assert [p.returncode for p in procs] == [0, 0], [r[0][-500:] for r in results]
    finally:
        await drop_database(db_url, scratch)
