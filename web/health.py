"""Liveness and readiness probes."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse
from tortoise import connections


async def healthz(request: Request) -> JSONResponse:
    """The process is up (no dependencies checked, so restarts are not triggered by a DB blip)."""
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> JSONResponse:
    """The database answers; load balancers send traffic only when it does."""
    try:
        await connections.get("default").execute_query("SELECT 1")
    except Exception:  # any driver error means "not ready"
        return JSONResponse({"status": "unavailable", "database": "unreachable"}, 503)
    return JSONResponse({"status": "ok", "database": "ok"})
