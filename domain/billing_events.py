"""Receiving Stripe's webhook events: record each once, find our top-up, apply in one go.

Stripe documents neither ordering nor exactly-once delivery, so each event is made safe on its
own: the event id is recorded once (``webhook_deliveries``, raw body kept for audit) in the
same transaction as its effect (``domain.billing_effects``), and everything an effect needs
that may take the network (whose payment is this?) is gathered before that transaction.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import Enum
from typing import Any
from uuid import UUID

from tortoise.exceptions import IntegrityError

from db.locks import lock_balance
from db.models.billing import TopUp
from db.models.ops import WebhookDelivery
from domain.billing import PaymentGateway
from domain.uow import Effects, UnitOfWork

JSON = dict[str, Any]
PROVIDER = "stripe"


class Outcome(Enum):
    APPLIED = "applied"
    DUPLICATE = "duplicate"
    NOT_OURS = "not_ours"


class MalformedEvent(ValueError):
    """A verified event whose object lacks what its type promises."""


@dataclass(frozen=True, slots=True)
class StripeEvent:
    id: str
    type: str
    object: JSON


@dataclass(slots=True)
class Facts:
    """What a handler needs, gathered before the transaction (it may need the network)."""

    top_up: TopUp
    object: JSON
    refunds: list[JSON] = field(default_factory=list)


Handler = Callable[[UnitOfWork, Facts], Awaitable[None]]


def json_str(obj: JSON, key: str) -> str | None:
    """A string field (or an expanded object's id), None when absent."""
    value = obj.get(key)
    if isinstance(value, dict):  # an expanded object
        value = value.get("id")
    return value if isinstance(value, str) and value else None


def json_int(obj: JSON, key: str) -> int:
    """An integer field (amounts), or MalformedEvent."""
    value = obj.get(key)
    if not isinstance(value, int) or isinstance(value, bool):
        raise MalformedEvent(f"{obj.get('object')}.{key} is not an integer")
    return value


def _uuid(value: object) -> UUID | None:
    try:
        return UUID(str(value)) if value else None
    except ValueError:
        return None


async def _top_up_from_metadata(metadata: object) -> TopUp | None:
    top_up_id = _uuid(metadata.get("top_up_id") if isinstance(metadata, dict) else None)
    return await TopUp.get_or_none(id=top_up_id) if top_up_id else None


async def _top_up_by_intent(gateway: PaymentGateway, intent_id: str | None) -> TopUp | None:
    """By the stored intent id, else by the intent's metadata (the intent may be news to us)."""
    if intent_id is None:
        return None
    found = await TopUp.filter(payment_intent_id=intent_id).first()
    if found is not None:
        return found
    return await _top_up_from_metadata(await gateway.payment_intent_metadata(intent_id))


async def gather(event: StripeEvent, gateway: PaymentGateway) -> Facts | None:
    """Find our top-up behind the event's object; None when the payment is not one of ours."""
    obj, kind = event.object, event.object.get("object")
    top_up: TopUp | None = None
    refunds: list[JSON] = []
    if kind == "checkout.session":
        top_up = await _top_up_from_metadata(obj.get("metadata"))
        if top_up is None and (ref := _uuid(obj.get("client_reference_id"))):
            top_up = await TopUp.get_or_none(id=ref)
        if top_up is None and (session_id := json_str(obj, "id")):
            top_up = await TopUp.get_or_none(checkout_session_id=session_id)
    elif kind == "charge":
        charge_id = json_str(obj, "id")
        if charge_id is None:
            raise MalformedEvent("charge without an id")
        top_up = await _top_up_from_metadata(obj.get("metadata"))
        if top_up is None:
            top_up = await _top_up_by_intent(gateway, json_str(obj, "payment_intent"))
        listed = obj.get("refunds")
        if isinstance(listed, dict) and not listed.get("has_more"):
            refunds = [r for r in listed.get("data", []) if isinstance(r, dict)]
        elif top_up is not None:  # newer API versions leave refunds off the charge
            refunds = [dict(r) for r in await gateway.charge_refunds(charge_id)]
    elif kind == "dispute":
        top_up = await _top_up_by_intent(gateway, json_str(obj, "payment_intent"))
    if top_up is None:
        return None
    return Facts(top_up=top_up, object=obj, refunds=refunds)


async def process(
    *,
    effects: Effects,
    gateway: PaymentGateway,
    event: StripeEvent,
    body: str,
    handler: Handler,
) -> Outcome:
    """Record ``event`` once and apply ``handler`` to it in the same transaction.

    Raises ``PaymentGatewayError`` when the gateway could not be asked (answer 5xx so Stripe
    retries) and ``MalformedEvent`` for an object we cannot read.
    """
    if await WebhookDelivery.exists(provider=PROVIDER, dedupe_key=event.id):
        return Outcome.DUPLICATE
    facts = await gather(event, gateway)
    try:
        async with UnitOfWork(effects) as uow:
            await WebhookDelivery.create(
                provider=PROVIDER,
                dedupe_key=event.id,
                body=body,
                user_id=facts.top_up.user_id if facts else None,  # type: ignore[attr-defined]
                using_db=uow.conn,
            )
            if facts is not None:
                # Balance first (db.locks' order): the top-up row is only locked after it.
                await lock_balance(uow.conn, facts.top_up.account_ref, facts.top_up.currency)
                await handler(uow, facts)
    except IntegrityError:
        # Either a concurrent delivery of the same event won the unique index, or something
        # else broke: only the former is safe to acknowledge.
        if await WebhookDelivery.exists(provider=PROVIDER, dedupe_key=event.id):
            return Outcome.DUPLICATE
        raise
    return Outcome.APPLIED if facts is not None else Outcome.NOT_OURS
