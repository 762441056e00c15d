"""The floor for webhook ingestion: a Starlette endpoint that reads the body, verifies the VAPI
signature with the service's own ``VapiAuthenticator`` and answers 200. Nothing is parsed or stored.

    VAPI_WEBHOOK_SECRET=… python -m uvicorn bench.baseline_webhook:app --port 8125
"""

from __future__ import annotations

import os
import time

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from webhooks.vapi_auth import HmacPlan, VapiAuthenticator

SECRET = os.environ.get("VAPI_WEBHOOK_SECRET", "")
AUTH = VapiAuthenticator(SECRET, HmacPlan(), url="")


async def receive(request: Request) -> Response:
    raw = await request.body()
    if not AUTH.verify(request.headers, raw, time.time()):
        return JSONResponse({"error": "invalid signature"}, status_code=401)
    return JSONResponse({"received": True})


async def healthz(request: Request) -> Response:
    return Response(b"ok")


app = Starlette(routes=[Route("/webhooks/vapi", receive, methods=["POST"]),
                        Route("/healthz", healthz)])
