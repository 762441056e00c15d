"""Real server processes for the benchmarks: the service as ``main.py serve`` runs it, and the
hand-written baselines, each a uvicorn process on a free loopback port.

The process's resident memory and CPU time are read from ``/proc`` (Linux), which is how the
per-subscriber memory and the server's share of the CPU are reported.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
CLK_TCK = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    name: str
    port: int
    proc: subprocess.Popen[bytes]
    log_path: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        return self.proc.pid

    def rss_bytes(self) -> int:
        """Resident memory of the server process now."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        raise RuntimeError("no VmRSS")

    def cpu_seconds(self) -> float:
        """User + system CPU time the server process has used so far."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def service_env(database_url: str, jwt_secret: str, **extra: str) -> dict[str, str]:
    """The service's environment: scratch database, known JWT secret, sandboxes for providers,
    in-process bus, and rate limits raised out of the way (the limiter still runs)."""
    keep = {k: v for k, v in os.environ.items()
            if k in ("PATH", "HOME", "LANG", "LC_ALL", "TZ", "VIRTUAL_ENV", "TMPDIR")}
    return {
        **keep,
        "DATABASE_URL": database_url,
        "JWT_SECRET": jwt_secret,
        "RATE_LIMIT_USER_PER_MINUTE": "100000000",
        "RATE_LIMIT_IP_PER_MINUTE": "100000000",
        "RATE_LIMIT_API_KEY_PER_MINUTE": "100000000",
        "SANDBOX_SPEED": "0",
        "WORKER_ENABLED": "0",
        "PYTHONPATH": str(ROOT),
        **extra,
    }


def spawn(name: str, argv: list[str], env: dict[str, str], port: int, log_dir: Path) -> Server:
    log_path = log_dir / f"{name}.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    return Server(name=name, port=port, proc=proc, log_path=log_path)


async def start(name: str, argv: list[str], env: dict[str, str], port: int, log_dir: Path,
                ready_path: str = "/healthz", timeout_s: float = 60.0) -> Server:
    """Start ``argv`` and wait until ``ready_path`` answers 200."""
    server = spawn(name, argv, env, port, log_dir)
    proc = server.proc
    deadline = time.monotonic() + timeout_s
    async with httpx.AsyncClient(timeout=2.0) as client:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited with {proc.returncode}: see {server.log_path}")
            try:
                if (await client.get(server.url + ready_path)).status_code == 200:
                    return server
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    server.stop()
    raise RuntimeError(f"{name} did not become ready in {timeout_s:.0f} s: see {server.log_path}")


def service_argv(port: int, module: str | None = None, workers: int = 1) -> list[str]:
    """``main.py serve`` (uvicorn), or a bench module that wraps the same app."""
    if module is None:
        return [sys.executable, "main.py", "serve", "--host", "127.0.0.1", "--port", str(port),
                "--workers", str(workers)]
    return [sys.executable, "-m", module, "--port", str(port)]


def baseline_argv(app: str, port: int) -> list[str]:
    return [sys.executable, "-m", "uvicorn", app, "--host", "127.0.0.1", "--port", str(port),
            "--no-access-log", "--log-level", "warning"]
