"""``POST /webhooks/vapi``: verify, dedupe, apply, answer fast.

Authenticity is checked on the raw body before anything is parsed or stored, and fails closed:
no secret configured, no credentials, a wrong signature or a timestamp outside five minutes are
all 401 and change nothing. Two schemes are accepted, as VAPI offers both: an HMAC-SHA256 hex
digest of ``{x-timestamp}.{raw body}`` in ``x-signature``, or the shared secret itself in
``X-Vapi-Secret``. Message types and fields we do not know are acknowledged with 200.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from domain.calls import Pricing
from domain.calls_reports import call_ref, parse_message
from domain.calls_webhooks import receive
from resolvers.context import Services

logger = logging.getLogger("callfluently.webhooks.vapi")

#: A signature older (or newer) than this is refused, so a captured request cannot be replayed.
TOLERANCE_S = 300
MAX_BODY_BYTES = 5_000_000
MAX_KEY_CHARS = 300


def verify(headers: Mapping[str, str], raw: bytes, secret: str, now_s: float) -> bool:
    """Whether the request carries a valid HMAC signature or the shared secret."""
    if not secret:
        return False
    signature, stamp = headers.get("x-signature"), headers.get("x-timestamp")
    if signature and stamp:
        try:
            sent_at = float(stamp)
        except ValueError:
            return False
        if sent_at > 1e11:  # milliseconds
            sent_at /= 1000
        if abs(now_s - sent_at) > TOLERANCE_S:
            return False
        expected = hmac.new(secret.encode(), stamp.encode() + b"." + raw, hashlib.sha256)
        return hmac.compare_digest(expected.hexdigest(), signature.strip().lower())
    shared = headers.get("x-vapi-secret")
    if shared:
        return hmac.compare_digest(shared.encode(), secret.encode())
    return False


def dedupe_key(headers: Mapping[str, str], message: dict[str, Any], raw: bytes) -> str:
    """VAPI's message id when sent; else call id + type + status (+ body digest for the
    message types that repeat within one status, such as transcript lines)."""
    message_id = headers.get("x-vapi-message-id")
    if message_id:
        return f"id:{message_id}"[:MAX_KEY_CHARS]
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
    secret = str(settings.vapi_webhook_secret or "")
    pricing = Pricing(settings.price_per_minute_minor, settings.currency)

    async def handle(request: Request) -> JSONResponse:
        raw = await request.body()
        if len(raw) > MAX_BODY_BYTES:
            return _answer(413, error="body too large")
        if not verify(request.headers, raw, secret, wall_clock()):
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
            dedupe_key=dedupe_key(request.headers, message, raw),
            body=raw.decode("utf-8", errors="replace"),
            pricing=pricing,
            now=services.clock.now(),
        )
        logger.info("vapi webhook", extra={"type": str(message.get("type"))[:64],
                                           "outcome": outcome.value})
        return _answer(200, received=True, outcome=outcome.value)

    return [Route("/webhooks/vapi", handle, methods=["POST"])]
