"""``POST /webhooks/vapi``: verify, dedupe, apply, answer fast.

Authenticity is checked on the raw body before anything is parsed or stored, and fails closed:
no secret configured, no credentials, a wrong signature or a timestamp that is not a finite time
within five minutes are all 401 and change nothing. A request with no credential header at all
is refused before its body is read. Every scheme VAPI can be configured to send is accepted
(``webhooks/vapi_auth.py``): its HMAC plan, ``Authorization: Bearer`` and ``X-Vapi-Secret``.
Message types and fields we do not know are acknowledged with 200.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from domain.calls import Pricing
from domain.calls_reports import call_ref, parse_message
from domain.calls_webhooks import receive
from resolvers.context import Services
from webhooks.vapi_auth import HmacPlan, VapiAuthenticator

logger = logging.getLogger("callfluently.webhooks.vapi")

MAX_BODY_BYTES = 5_000_000
MAX_KEY_CHARS = 300


def dedupe_key(message: dict[str, Any], raw: bytes) -> str:
    """Call id + type + status (+ body digest for the message types that repeat within one
    status, such as transcript lines): all from the authenticated body, never from a header
    the signature does not cover."""
    ref = call_ref(message)
    call = ref.provider_call_id or str(ref.external_id)
    kind = str(message.get("type"))
    if kind == "status-update":
        key = f"{call}:{kind}:{message.get('status')}"
    elif kind == "end-of-call-report":
        key = f"{call}:{kind}"
    else:
        key = f"{call}:{kind}:{hashlib.sha256(raw).hexdigest()[:32]}"
    return key[:MAX_KEY_CHARS]


def _answer(status: int, **body: Any) -> JSONResponse:
    return JSONResponse(body, status_code=status)


def vapi_webhook_routes(
    services: Services, *, wall_clock: Callable[[], float] = time.time
) -> list[Route]:
    """The VAPI webhook endpoint, closed over the outbox and the price of a minute.

    The signature window is checked against ``wall_clock``: VAPI stamps with real time, which
    the service's own clock (movable in tests) need not follow.
    """
    settings = services.settings
    auth = VapiAuthenticator(
        str(settings.vapi_webhook_secret or ""),
        HmacPlan.parse(settings.vapi_webhook_hmac_plan),
        url=f"{settings.public_base_url}/webhooks/vapi",
    )
    pricing = Pricing(settings.price_per_minute_minor, settings.currency)

    async def handle(request: Request) -> JSONResponse:
        if not auth.presents_credentials(request.headers):
            logger.warning("vapi webhook refused", extra={"reason": "no credentials"})
            return _answer(401, error="invalid signature")
        raw = await request.body()
        if len(raw) > MAX_BODY_BYTES:
            return _answer(413, error="body too large")
        if not auth.verify(request.headers, raw, wall_clock()):
            logger.warning("vapi webhook refused", extra={"reason": "unauthenticated"})
            return _answer(401, error="invalid signature")
        try:
            envelope = json.loads(raw)
        except ValueError:
            return _answer(400, error="body is not JSON")
        message = envelope.get("message") if isinstance(envelope, dict) else None
        if not isinstance(message, dict):
            return _answer(400, error="no message object")
        parsed = parse_message(message)
        outcome = await receive(
            effects=services.effects,
            message=parsed,
            dedupe_key=dedupe_key(message, raw),
            body=raw.decode("utf-8", errors="replace"),
            pricing=pricing,
            now=services.clock.now(),
        )
        logger.info("vapi webhook", extra={"type": str(message.get("type"))[:64],
                                           "outcome": outcome.value})
        return _answer(200, received=True, outcome=outcome.value)

    return [Route("/webhooks/vapi", handle, methods=["POST"])]
