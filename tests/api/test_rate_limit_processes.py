"""The Redis-backed limiter: two uvicorn processes draw from the same buckets."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = os.environ.get("REDIS_TEST_URL", "redis://127.0.0.1:6379/0")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def redis_available() -> bool:
    from redis.asyncio import Redis

    client = Redis.from_url(REDIS_URL, socket_connect_timeout=1)
    try:
        return bool(await client.ping())
    except OSError:
        return False
    finally:
        await client.aclose()


async def wait_healthy(base: str, proc: subprocess.Popen[bytes]) -> None:
    async with httpx.AsyncClient() as c:
        for _ in range(150):
            if proc.poll() is not None:
                raise RuntimeError(f"uvicorn exited with {proc.returncode}")
            try:
                if (await c.get(f"{base}/healthz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise TimeoutError(base)


@pytest.fixture
async def start_server() -> AsyncIterator[Callable[..., object]]:
    procs: list[subprocess.Popen[bytes]] = []
    workdir = tempfile.mkdtemp(prefix="cf-rl-")

    async def start(env: dict[str, str]) -> str:
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        full_env = {**os.environ, **env, "PUBLIC_BASE_URL": base,
                    "DATABASE_URL": f"sqlite://{workdir}/rl.db"}
        proc = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "main:app", "--host", "127.0.0.1",
             "--port", str(port), "--log-level", "warning"],
            cwd=ROOT, env=full_env,
        )
        procs.append(proc)
        await wait_healthy(base, proc)
        return base

    yield start
    for proc in procs:
        proc.terminate()
    for proc in procs:
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.mark.slow
async def test_ip_limit_holds_across_two_processes_with_redis(start_server: Callable[..., object]
                                                              ) -> None:
    if not await redis_available():
        if os.environ.get("REDIS_TEST_URL"):
            pytest.fail(f"Redis is not reachable at {REDIS_URL}")
        pytest.skip("needs Redis (set REDIS_TEST_URL)")
    env = {"REDIS_URL": REDIS_URL, "REDIS_PREFIX": f"cf-test-{uuid.uuid4().hex}:",
           "RATE_LIMIT_IP_PER_MINUTE": "4", "WORKER_ENABLED": "0", "LOG_LEVEL": "WARNING",
           "JWT_SECRET": "rate-limit-test-secret-" + "x" * 20}
    first = await start_server(env)  # type: ignore[misc]
    second = await start_server(env)  # type: ignore[misc]
    query = {"query": "{ __typename }"}

    async with httpx.AsyncClient() as c:
        allowed = [(await c.post(f"{base}/graphql", json=query)).json()
                   for base in (first, second, first, second)]
        refused = [await c.post(f"{base}/graphql", json=query) for base in (first, second)]

    assert allowed == [{"data": {"__typename": "Query"}}] * 4
    for response in refused:
        error = response.json()["errors"][0]
        assert error["extensions"]["code"] == "RATE_LIMITED"
        assert error["extensions"]["limit"] == "ip"
        assert 1 <= error["extensions"]["retryAfterSeconds"] <= 15
        assert response.headers["retry-after"] == str(error["extensions"]["retryAfterSeconds"])
