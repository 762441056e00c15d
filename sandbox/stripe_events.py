"""State and events of the Stripe twin (the HTTP surface lives in ``sandbox.stripe``).

Objects are kept as plain dicts in exactly the shape Stripe returns them, so handing one to a
client or snapshotting it into an event needs no translation. Every transition that real
Stripe announces with a webhook emits a stored event here; delivery is a separate, awaited
step so tests can hold events back and replay them in any order.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import secrets
import string
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
import stripe as stripe_sdk

from sandbox import SandboxContext

JSON = dict[str, Any]

#: The version the installed SDK pins: the twin answers as the API that SDK was generated for.
API_VERSION: str = stripe_sdk.api_version
#: How long a delivery may take before it counts as failed (delivery blocks the caller).
DELIVERY_TIMEOUT_SECONDS = 10.0
#: Stripe's own smallest chargeable totals, in the smallest currency unit.
MINIMUM_CHARGE = {"usd": 50, "eur": 50, "gbp": 30, "cad": 50, "aud": 50, "chf": 50}
_ALPHABET = string.ascii_letters + string.digits
#: Dispute statuses during which the money is contested (refunds are refused then).
_OPEN_DISPUTE = frozenset({"warning_needs_response", "needs_response", "under_review"})


class StripeError(Exception):
    """A failure reported in Stripe's envelope and status, so the SDK raises the same class."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        param: str | None = None,
        code: str | None = None,
        kind: str = "invalid_request_error",
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.param = param
        self.code = code
        self.kind = kind

    def body(self) -> JSON:
        """Stripe omits ``param``/``code`` when they do not apply; so do we."""
        error: JSON = {"type": self.kind, "message": self.message}
        if self.param is not None:
            error["param"] = self.param
        if self.code is not None:
            error["code"] = self.code
            error["doc_url"] = f"https://stripe.com/docs/error-codes/{self.code.replace('_', '-')}"
        return {"error": error}


def no_such(kind: str, object_id: str, *, param: str, status: int = 404) -> StripeError:
    """Stripe answers 404 for a missing object in the path and 400 for one named in a param."""
    return StripeError(
        status, f"No such {kind}: '{object_id}'", param=param, code="resource_missing"
    )


def new_id(prefix: str, length: int = 24) -> str:
    """Ids look like Stripe's (prefix plus random base62) so format checks downstream pass."""
    return prefix + "".join(secrets.choice(_ALPHABET) for _ in range(length))


def now() -> int:
    """Unix seconds, as every Stripe timestamp."""
    return int(time.time())


def sign_payload(payload: str, secret: str, timestamp: int) -> str:
    """The ``Stripe-Signature`` value Stripe would send, verifiable by ``construct_event``."""
    digest = hmac.new(
        secret.encode(), f"{timestamp}.{payload}".encode(), hashlib.sha256
    ).hexdigest()
    return f"t={timestamp},v1={digest}"


@dataclass(frozen=True, slots=True)
class NewSession:
    """A validated ``POST /v1/checkout/sessions`` request, reduced to what the twin models."""

    currency: str
    amount_total: int
    line_items: list[JSON]
    success_url: str
    cancel_url: str | None
    client_reference_id: str | None
    customer_email: str | None
    metadata: dict[str, str]
    payment_intent_metadata: dict[str, str]
    payment_intent_description: str | None
    expires_at: int | None


@dataclass(slots=True)
class StoredEvent:
    """An event as delivered (a frozen snapshot) plus every delivery attempt made for it."""

    event: JSON
    delivery_attempts: list[JSON] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a state transition produced: the object acted on and the events it emitted."""

    object: JSON
    event_ids: list[str]
    payment_intent: str | None = None
    charge: str | None = None


class StripeLedger:
    """One Stripe account's worth of objects and events, private to one app instance."""

    def __init__(self, ctx: SandboxContext) -> None:
        self._ctx = ctx
        self.sessions: dict[str, JSON] = {}
        self.line_items: dict[str, list[JSON]] = {}
        self.payment_intents: dict[str, JSON] = {}
        self.charges: dict[str, JSON] = {}
        self.refunds: dict[str, JSON] = {}
        self.disputes: dict[str, JSON] = {}
        self.events: dict[str, StoredEvent] = {}
        #: What each session will put on its payment intent once paid.
        self._intent_template: dict[str, tuple[dict[str, str], str | None]] = {}

    # -- checkout sessions ---------------------------------------------------------------

    def create_session(self, new: NewSession) -> JSON:
        """Store an open, unpaid session whose ``url`` is the twin's own checkout page."""
        session_id = new_id("cs_test_", 58)
        created = now()
        base = self._ctx.public_base_url.rstrip("/")
        session: JSON = {
            "id": session_id,
            "object": "checkout.session",
            "amount_subtotal": new.amount_total,
            "amount_total": new.amount_total,
            "cancel_url": new.cancel_url,
            "client_reference_id": new.client_reference_id,
            "created": created,
            "currency": new.currency,
            "customer": None,
            "customer_details": None,
            "customer_email": new.customer_email,
            "expires_at": new.expires_at or created + 24 * 3600,
            "livemode": False,
            "metadata": dict(new.metadata),
            "mode": "payment",
            "payment_intent": None,
            "payment_method_types": ["card"],
            "payment_status": "unpaid",
            "status": "open",
            "success_url": new.success_url,
            "ui_mode": "hosted_page",
            "url": f"{base}/sandbox/stripe/pay/{session_id}",
        }
        self.sessions[session_id] = session
        self.line_items[session_id] = new.line_items
        self._intent_template[session_id] = (
            dict(new.payment_intent_metadata),
            new.payment_intent_description,
        )
        return session

    def session(self, session_id: str) -> JSON:
        """The session, or Stripe's 404 for it."""
        if session_id not in self.sessions:
            raise no_such("checkout.session", session_id, param="session")
        return self.sessions[session_id]

    def complete_session(self, session_id: str, *, async_payment: bool, outcome: str) -> Outcome:
        """Play the customer paying: synchronously (card) or as a delayed method (bank debit).

        The async path emits ``completed`` with ``payment_status=unpaid`` and then the outcome
        event, exactly the pair a webhook handler must cope with for delayed payment methods.
        """
        session = self._open_session(session_id)
        metadata, description = self._intent_template[session_id]
        intent_id, charge_id, created = new_id("pi_"), new_id("ch_"), now()
        amount, currency = session["amount_total"], session["currency"]
        intent: JSON = {
            "id": intent_id,
            "object": "payment_intent",
            "amount": amount,
            "amount_received": 0,
            "capture_method": "automatic_async",
            "client_secret": f"{intent_id}_secret_{new_id('', 25)}",
            "created": created,
            "currency": currency,
            "customer": None,
            "description": description,
            "last_payment_error": None,
            "latest_charge": charge_id,
            "livemode": False,
            "metadata": dict(metadata),
            "payment_method_types": ["us_bank_account" if async_payment else "card"],
            "status": "processing",
        }
        charge: JSON = {
            "id": charge_id,
            "object": "charge",
            "amount": amount,
            "amount_captured": 0,
            "amount_refunded": 0,
            "balance_transaction": None,
            "captured": False,
            "created": created,
            "currency": currency,
            "description": description,
            "disputed": False,
            "failure_code": None,
            "failure_message": None,
            "livemode": False,
            "metadata": dict(metadata),
            "paid": False,
            "payment_intent": intent_id,
            "payment_method_details": {"type": intent["payment_method_types"][0]},
            "refunded": False,
            "refunds": {
                "object": "list",
                "data": [],
                "has_more": False,
                "total_count": 0,
                "url": f"/v1/charges/{charge_id}/refunds",
            },
            "status": "pending",
        }
        self.payment_intents[intent_id], self.charges[charge_id] = intent, charge
        session.update(
            status="complete",
            payment_intent=intent_id,
            url=None,
            customer_details={"email": session["customer_email"]},
        )
        if not async_payment:
            self._settle(session, intent, charge, succeeded=True)
            events = [self.emit("checkout.session.completed", session)]
        else:
            events = [self.emit("checkout.session.completed", session)]
            succeeded = outcome == "succeeded"
            self._settle(session, intent, charge, succeeded=succeeded)
            kind = "succeeded" if succeeded else "failed"
            events.append(self.emit(f"checkout.session.async_payment_{kind}", session))
        return Outcome(session, events, payment_intent=intent_id, charge=charge_id)

    def expire_session(self, session_id: str) -> Outcome:
        """Expire an open session (``checkout.session.expired``); Stripe refuses other states."""
        session = self._open_session(session_id)
        session.update(status="expired", url=None)
        return Outcome(session, [self.emit("checkout.session.expired", session)])

    def _open_session(self, session_id: str) -> JSON:
        session = self.session(session_id)
        if session["status"] != "open":
            raise StripeError(
                400,
                f"This Checkout Session is not open (status: {session['status']}).",
                param="session",
                code="checkout_session_not_open",
            )
        return session

    @staticmethod
    def _settle(session: JSON, intent: JSON, charge: JSON, *, succeeded: bool) -> None:
        """Move intent, charge and session to the paid or the failed end state together."""
        amount = intent["amount"]
        if succeeded:
            intent.update(status="succeeded", amount_received=amount)
            charge.update(status="succeeded", paid=True, captured=True, amount_captured=amount)
            session["payment_status"] = "paid"
            return
        message = "The customer's bank account has insufficient funds."
        intent.update(
            status="requires_payment_method",
            last_payment_error={"code": "insufficient_funds", "message": message},
        )
        charge.update(status="failed", failure_code="insufficient_funds", failure_message=message)

    # -- refunds and disputes ------------------------------------------------------------

    def refund(
        self,
        *,
        charge_id: str | None,
        intent_id: str | None,
        amount: int | None,
        reason: str | None,
        metadata: dict[str, str],
        request: JSON,
    ) -> Outcome:
        """Refund part or all of what remains on a charge and emit ``charge.refunded``."""
        charge = self._refundable_charge(charge_id, intent_id)
        remaining = charge["amount"] - charge["amount_refunded"]
        if remaining <= 0:
            raise StripeError(
                400,
                f"Charge {charge['id']} has already been refunded.",
                code="charge_already_refunded",
            )
        amount = remaining if amount is None else amount
        if amount > remaining:
            raise StripeError(
                400,
                f"Refund amount ({amount}) is greater than unrefunded amount on charge "
                f"({remaining}).",
                param="amount",
                code="amount_too_large",
            )
        refund: JSON = {
            "id": new_id("re_"),
            "object": "refund",
            "amount": amount,
            "balance_transaction": None,
            "charge": charge["id"],
            "created": now(),
            "currency": charge["currency"],
            "metadata": metadata,
            "payment_intent": charge["payment_intent"],
            "reason": reason,
            "status": "succeeded",
        }
        self.refunds[refund["id"]] = refund
        previous = {
            "amount_refunded": charge["amount_refunded"],
            "refunded": charge["refunded"],
            "refunds": {"data": copy.deepcopy(charge["refunds"]["data"])},
        }
        charge["amount_refunded"] += amount
        charge["refunded"] = charge["amount_refunded"] >= charge["amount"]
        charge["refunds"]["data"].insert(0, refund)  # Stripe lists newest first
        charge["refunds"]["total_count"] += 1
        event = self.emit("charge.refunded", charge, previous=previous, request=request)
        return Outcome(
            refund, [event], payment_intent=charge["payment_intent"], charge=charge["id"]
        )

    def _refundable_charge(self, charge_id: str | None, intent_id: str | None) -> JSON:
        if intent_id is not None:
            intent = self.payment_intents.get(intent_id)
            if intent is None:
                raise no_such("payment_intent", intent_id, param="payment_intent", status=400)
            if intent["status"] != "succeeded":
                raise StripeError(
                    400,
                    f"This PaymentIntent ({intent_id}) does not have a successful charge "
                    "to refund.",
                    param="payment_intent",
                    code="charge_not_refundable",
                )
            if charge_id is not None and charge_id != intent["latest_charge"]:
                raise StripeError(
                    400, "The charge does not belong to the PaymentIntent.", param="charge"
                )
            charge_id = intent["latest_charge"]
        assert charge_id is not None  # the caller insists on one of the two
        charge = self.charges.get(charge_id)
        if charge is None:
            raise no_such("charge", charge_id, param="charge", status=400)
        if charge["status"] != "succeeded":
            raise StripeError(
                400,
                f"Charge {charge_id} has not succeeded and cannot be refunded.",
                param="charge",
                code="charge_not_refundable",
            )
        if any(d["status"] in _OPEN_DISPUTE | {"lost"} for d in self._disputes_of(charge_id)):
            raise StripeError(
                400,
                f"Charge {charge_id} has been charged back; cannot issue a refund.",
                code="charge_disputed",
            )
        return charge

    def _disputes_of(self, charge_id: str) -> list[JSON]:
        return [d for d in self.disputes.values() if d["charge"] == charge_id]

    def open_dispute(self, charge_id: str, amount: int | None) -> Outcome:
        """The cardholder's bank contests a succeeded charge (``charge.dispute.created``)."""
        charge = self.charges.get(charge_id)
        if charge is None:
            raise no_such("charge", charge_id, param="charge")
        if charge["status"] != "succeeded":
            raise StripeError(400, f"Charge {charge_id} has not succeeded.", param="charge")
        if self._disputes_of(charge_id):
            raise StripeError(400, f"Charge {charge_id} is already disputed.", param="charge")
        amount = charge["amount"] if amount is None else amount
        if not 0 < amount <= charge["amount"]:
            raise StripeError(400, "Dispute amount must be within the charge.", param="amount")
        created = now()
        dispute: JSON = {
            "id": new_id("du_"),
            "object": "dispute",
            "amount": amount,
            "balance_transactions": [],
            "charge": charge_id,
            "created": created,
            "currency": charge["currency"],
            "evidence_details": {
                "due_by": created + 7 * 24 * 3600,
                "has_evidence": False,
                "past_due": False,
                "submission_count": 0,
            },
            "is_charge_refundable": False,
            "livemode": False,
            "metadata": {},
            "payment_intent": charge["payment_intent"],
            "reason": "fraudulent",
            "status": "needs_response",
        }
        self.disputes[dispute["id"]] = dispute
        charge["disputed"] = True
        return Outcome(
            dispute,
            [self.emit("charge.dispute.created", dispute)],
            payment_intent=charge["payment_intent"],
            charge=charge_id,
        )

    def close_dispute(self, dispute_id: str, status: str) -> Outcome:
        """The bank decides (``charge.dispute.closed`` with status ``won`` or ``lost``)."""
        dispute = self.disputes.get(dispute_id)
        if dispute is None:
            raise no_such("dispute", dispute_id, param="dispute")
        if dispute["status"] not in _OPEN_DISPUTE:
            raise StripeError(400, f"Dispute {dispute_id} is already closed.", param="dispute")
        previous = {"status": dispute["status"]}
        dispute["status"] = status
        return Outcome(
            dispute,
            [self.emit("charge.dispute.closed", dispute, previous=previous)],
            payment_intent=dispute["payment_intent"],
            charge=dispute["charge"],
        )

    # -- events --------------------------------------------------------------------------

    def emit(
        self,
        kind: str,
        obj: JSON,
        *,
        previous: JSON | None = None,
        request: JSON | None = None,
    ) -> str:
        """Store an event carrying a deep snapshot, so later changes never leak into it."""
        data: JSON = {"object": copy.deepcopy(obj)}
        if previous is not None:
            data["previous_attributes"] = previous
        event: JSON = {
            "id": new_id("evt_"),
            "object": "event",
            "api_version": API_VERSION,
            "created": now(),
            "data": data,
            "livemode": False,
            "pending_webhooks": 1,
            "request": request or {"id": None, "idempotency_key": None},
            "type": kind,
        }
        self.events[event["id"]] = StoredEvent(event)
        return str(event["id"])

    def event(self, event_id: str) -> StoredEvent:
        """The stored event, or Stripe's 404 for it."""
        if event_id not in self.events:
            raise no_such("event", event_id, param="id")
        return self.events[event_id]

    async def deliver(self, event_ids: Sequence[str]) -> list[JSON]:
        """POST each event, signed, to the service's webhook in the given order.

        Awaited inline so a test sees the handler's effects when its control call returns.
        A failing or unreachable receiver is recorded on the event, never raised.
        """
        stored = [self.event(event_id) for event_id in event_ids]
        if not stored:
            return []
        url = f"{self._ctx.public_base_url.rstrip('/')}/webhooks/stripe"
        async with self._ctx.http_client() as client:
            return [await self._deliver_one(client, url, item) for item in stored]

    async def _deliver_one(self, client: httpx.AsyncClient, url: str, item: StoredEvent) -> JSON:
        payload = json.dumps(item.event, indent=2)
        timestamp = now()
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
            "Stripe-Signature": sign_payload(payload, self._ctx.stripe_webhook_secret, timestamp),
        }
        status: int | None = None
        error: str | None = None
        try:
            response = await client.post(
                url, content=payload.encode(), headers=headers, timeout=DELIVERY_TIMEOUT_SECONDS
            )
            status = response.status_code
        except Exception as exc:  # the receiver's bugs must not take the sandbox down
            error = f"{type(exc).__name__}: {exc}"
        attempt: JSON = {"attempted_at": timestamp, "status": status, "error": error}
        item.delivery_attempts.append(attempt)
        return {"event_id": item.event["id"], "type": item.event["type"], **attempt}
