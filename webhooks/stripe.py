"""``POST /webhooks/stripe``: verify, dedupe, dispatch, answer fast.

The signature is checked on the raw body with ``STRIPE_WEBHOOK_SECRET`` before anything is
parsed or stored (fail closed: no secret, no header, a bad or stale signature are all 400 and
change nothing). Types we do not handle are acknowledged with 200 and not stored.
"""

from __future__ import annotations

import json
import logging

import stripe
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from domain import billing_effects, billing_events
from domain.billing import PaymentGatewayError
from domain.billing_events import Handler, MalformedEvent, StripeEvent
from resolvers.context import Services

logger = logging.getLogger("callfluently.webhooks.stripe")

#: Stripe's default: a signature older than this is refused (replay protection).
TOLERANCE_S = 300

HANDLERS: dict[str, Handler] = {
    "checkout.session.completed": billing_effects.session_completed,
    "checkout.session.async_payment_succeeded": billing_effects.async_payment_succeeded,
    "checkout.session.async_payment_failed": billing_effects.async_payment_failed,
    "checkout.session.expired": billing_effects.session_expired,
    "charge.refunded": billing_effects.charge_refunded,
    "charge.dispute.created": billing_effects.dispute_created,
    "charge.dispute.closed": billing_effects.dispute_closed,
}


def _refused(reason: str) -> JSONResponse:
    return JSONResponse({"error": reason}, status_code=400)


def _event(payload: bytes, signature: str, secret: str) -> StripeEvent | None:
    """The verified event, or None when the signature, timestamp or JSON is not right."""
    try:
        stripe.Webhook.construct_event(payload, signature, secret, tolerance=TOLERANCE_S)
        body = json.loads(payload)
    except (stripe.SignatureVerificationError, ValueError):
        return None
    data = body.get("data") if isinstance(body, dict) else None
    obj = data.get("object") if isinstance(data, dict) else None
    if not (isinstance(body.get("id"), str) and isinstance(body.get("type"), str)
            and isinstance(obj, dict)):
        return None
    return StripeEvent(id=body["id"], type=body["type"], object=obj)


def stripe_webhook_routes(services: Services) -> list[Route]:
    """The Stripe webhook endpoint, closed over the payment gateway and the outbox."""
    payments = services.payments
    secret = str(services.settings.stripe_webhook_secret or "")

    async def receive(request: Request) -> JSONResponse:
        payload = await request.body()
        signature = request.headers.get("stripe-signature")
        if not secret or not signature:
            logger.warning("stripe webhook refused", extra={"reason": "unsigned"})
            return _refused("missing signature")
        event = _event(payload, signature, secret)
        if event is None:
            logger.warning("stripe webhook refused", extra={"reason": "bad signature"})
            return _refused("invalid signature")
        handler = HANDLERS.get(event.type)
        if handler is None:
            logger.info("stripe event ignored", extra={"event_id": event.id, "type": event.type})
            return JSONResponse({"received": True, "outcome": "ignored"})
        try:
            outcome = await billing_events.process(
                effects=services.effects, gateway=payments.gateway, event=event,
                body=payload.decode("utf-8", errors="replace"), handler=handler,
            )
        except PaymentGatewayError:
            # We could not tell whose payment this is yet: Stripe retries non-2xx for days.
            logger.warning("stripe event deferred", extra={"event_id": event.id})
            return JSONResponse({"error": "try again later"}, status_code=503)
        except MalformedEvent as exc:
            logger.error("stripe event unreadable", extra={"event_id": event.id, "error": str(exc)})
            return _refused("unreadable event")
        logger.info("stripe event processed",
                    extra={"event_id": event.id, "type": event.type, "outcome": outcome.value})
        return JSONResponse({"received": True, "outcome": outcome.value})

    return [Route("/webhooks/stripe", receive, methods=["POST"])]
