"""Real processes for the live-event tests: uvicorn serving ``main:app``, a private
``redis-server``, and a database of their own.

The spawned services get their own database (not the session app's): the session app runs a
worker too, and it would otherwise claim their jobs and play their calls on the wrong process.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx

from tests.conftest import create_scratch_database, database_url, drop_database, is_postgres

ROOT = Path(__file__).resolve().parents[1]
JWT_SECRET = "live-test-jwt-secret-" + "y" * 32


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.asynccontextmanager
async def own_database() -> AsyncIterator[str]:
    """A fresh database like the suite's (PostgreSQL scratch database or SQLite file)."""
    url = database_url()
    if not is_postgres(url):
        yield url
        return
    scratch = await create_scratch_database(url)
    try:
        yield scratch
    finally:
        await drop_database(url, scratch)


class Service:
    """``uvicorn main:app`` on a free port with the given environment."""

    def __init__(self, *, db_url: str, redis_url: str | None = None, worker: bool = True,
                 redis_prefix: str = "", extra_env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log = tempfile.NamedTemporaryFile(  # noqa: SIM115 - closed in stop()
            prefix="cf-uvicorn-", suffix=".log", delete=False
        )
        env = {k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "DATABASE_URL"}}
        env.update({
            "DATABASE_URL": db_url,
            "JWT_SECRET": JWT_SECRET,
            "PUBLIC_BASE_URL": self.base_url,
            "ALLOWED_ORIGINS": self.base_url,
            "WORKER_ENABLED": "1" if worker else "0",
            "WORKER_POLL_S": "0.05",
            "SANDBOX_SPEED": "0",
            "LOG_LEVEL": "WARNING",
            "REDIS_PREFIX": redis_prefix,
            **({"REDIS_URL": redis_url} if redis_url else {}),
            **(extra_env or {}),
        })
        self.process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "main:app", "--host", "127.0.0.1",
             "--port", str(self.port), "--ws", "websockets-sansio", "--no-access-log"],
            cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT,
        )

    async def ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        async with httpx.AsyncClient(base_url=self.base_url) as http:
            while True:
                if self.process.poll() is not None:
                    raise AssertionError(f"uvicorn exited:\n{self.output()}")
                with contextlib.suppress(httpx.HTTPError):
                    if (await http.get("/readyz")).status_code == 200:
                        return
                if time.monotonic() > deadline:
                    raise AssertionError(f"uvicorn never became ready:\n{self.output()}")
                await asyncio.sleep(0.1)

    def output(self) -> str:
        return Path(self.log.name).read_text(errors="replace")[-5000:]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self.log.close()
        os.unlink(self.log.name)


@contextlib.asynccontextmanager
async def services(*specs: dict[str, object]) -> AsyncIterator[list[Service]]:
    """Start one uvicorn per spec (``Service`` keyword arguments), one after the other.

    Sequentially, because each process migrates the database at start-up and two migrating an
    empty database at once collide.
    """
    started: list[Service] = []
    try:
        for spec in specs:
            started.append(Service(**spec))  # type: ignore[arg-type]
            await started[-1].ready()
        yield started
    finally:
        for service in started:
            service.stop()


class RedisServer:
    """A private ``redis-server`` on a free port that a test may stop and start again."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.dir = tempfile.mkdtemp(prefix="cf-redis-")
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        binary = shutil.which("redis-server")
        assert binary, "redis-server is not installed"
        self.process = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", self.dir],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(
                ("127.0.0.1", self.port), timeout=0.2
            ):
                return
            time.sleep(0.05)
        raise AssertionError("redis-server did not start")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)
        self.process = None


@contextlib.contextmanager
def private_redis() -> Iterator[RedisServer]:
    server = RedisServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(server.dir, ignore_errors=True)


def unique_prefix() -> str:
    return f"cftest-{uuid.uuid4().hex[:10]}:"
