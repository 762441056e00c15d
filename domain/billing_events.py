"""Applying Stripe's webhook events to top-ups and the ledger, in any order, any number of times.

Stripe documents neither ordering nor exactly-once delivery, so each event is made safe on its
own: the event id is recorded once (``webhook_deliveries``) in the same transaction as its
effect; every ledger entry has a business key (``stripe:cs_…``, ``refund:re_…``,
``dispute:du_…``, ``dispute_won:du_…``) so re-deriving it from a later or repeated event is a
no-op; and a top-up's status only moves up a fixed rank, so a late ``completed`` cannot undo a
``refunded``. A refund or dispute that arrives before the credit simply debits first: the
ledger is append-only, so the final balance is the same whatever the order.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import Enum
from typing import Any
from uuid import UUID

from tortoise.exceptions import IntegrityError

from db.locks import lock_balance
from db.models.billing import TopUp
from db.models.ops import WebhookDelivery
from domain import ledger
from domain.billing import PaymentGateway, TopUpStatus
from domain.ledger import EntryKind
from domain.uow import Effects, UnitOfWork

logger = logging.getLogger(__name__)

JSON = dict[str, Any]
PROVIDER = "stripe"

#: A status never moves to a lower rank (equal ranks do not replace each other either).
_RANK = {
    TopUpStatus.PENDING: 0,
    TopUpStatus.PROCESSING: 1,
    TopUpStatus.FAILED: 2,
    TopUpStatus.EXPIRED: 2,
    TopUpStatus.PAID: 3,
    TopUpStatus.REFUNDED: 4,
}
#: Refunds in these states returned no money, so they are not debited.
_REFUND_VOID = frozenset({"failed", "canceled"})


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


def _str(obj: JSON, key: str) -> str | None:
    value = obj.get(key)
    if isinstance(value, dict):  # an expanded object
        value = value.get("id")
    return value if isinstance(value, str) and value else None


def _int(obj: JSON, key: str) -> int:
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
        if top_up is None and (session_id := _str(obj, "id")):
            top_up = await TopUp.get_or_none(checkout_session_id=session_id)
    elif kind == "charge":
        top_up = await _top_up_from_metadata(obj.get("metadata"))
        if top_up is None:
            top_up = await _top_up_by_intent(gateway, _str(obj, "payment_intent"))
        listed = obj.get("refunds")
        if isinstance(listed, dict) and not listed.get("has_more"):
            refunds = [r for r in listed.get("data", []) if isinstance(r, dict)]
        elif top_up is not None:  # newer API versions leave refunds off the charge
            refunds = [dict(r) for r in await gateway.charge_refunds(str(_str(obj, "id")))]
    elif kind == "dispute":
        top_up = await _top_up_by_intent(gateway, _str(obj, "payment_intent"))
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


# -- effects -----------------------------------------------------------------------------


async def _advance(uow: UnitOfWork, top_up: TopUp, status: TopUpStatus) -> None:
    """Move the status up (never down) with one conditional UPDATE, safe under concurrency."""
    lower = [s.value for s, rank in _RANK.items() if rank < _RANK[status]]
    await TopUp.filter(id=top_up.id, status__in=lower).using_db(uow.conn).update(
        status=status.value
    )


async def _remember_ids(uow: UnitOfWork, top_up: TopUp, *, session: str | None,
                        intent: str | None) -> None:
    if session is not None:
        await TopUp.filter(id=top_up.id, checkout_session_id=None).using_db(uow.conn).update(
            checkout_session_id=session
        )
    if intent is not None:
        await TopUp.filter(id=top_up.id, payment_intent_id=None).using_db(uow.conn).update(
            payment_intent_id=intent
        )


def _same_currency(top_up: TopUp, obj: JSON) -> bool:
    currency = str(obj.get("currency") or "").upper()
    if currency != top_up.currency:
        logger.error(
            "stripe object in another currency ignored",
            extra={"top_up_id": str(top_up.id), "object_id": obj.get("id"), "currency": currency},
        )
        return False
    return True


async def _post(uow: UnitOfWork, top_up: TopUp, kind: EntryKind, amount: int, key: str,
                reference: str) -> None:
    await ledger.post(
        uow,
        account_ref=top_up.account_ref,
        user_id=top_up.user_id,  # type: ignore[attr-defined]
        kind=kind,
        amount_minor=amount,
        currency=top_up.currency,
        business_key=key,
        reference=reference,
    )


async def _credit(uow: UnitOfWork, facts: Facts) -> None:
    """Credit what the session collected, once per session (``stripe:cs_…``)."""
    session, top_up = facts.object, facts.top_up
    session_id = _str(session, "id")
    if session_id is None:
        raise MalformedEvent("checkout.session without an id")
    await _remember_ids(uow, top_up, session=session_id, intent=_str(session, "payment_intent"))
    if not _same_currency(top_up, session):
        return
    amount = _int(session, "amount_total")
    if amount != top_up.amount_minor:
        logger.warning("checkout total differs from the top-up", extra={
            "top_up_id": str(top_up.id), "amount_total": amount,
            "amount_minor": top_up.amount_minor,
        })
    await _post(uow, top_up, EntryKind.TOP_UP, amount, f"stripe:{session_id}", session_id)
    await _advance(uow, top_up, TopUpStatus.PAID)


async def session_completed(uow: UnitOfWork, facts: Facts) -> None:
    """Paid by card: credit. Unpaid (a delayed method like a bank debit): wait for its outcome."""
    if facts.object.get("payment_status") == "paid":
        await _credit(uow, facts)
        return
    await _remember_ids(uow, facts.top_up, session=_str(facts.object, "id"),
                        intent=_str(facts.object, "payment_intent"))
    await _advance(uow, facts.top_up, TopUpStatus.PROCESSING)


async def async_payment_succeeded(uow: UnitOfWork, facts: Facts) -> None:
    await _credit(uow, facts)


async def async_payment_failed(uow: UnitOfWork, facts: Facts) -> None:
    await _remember_ids(uow, facts.top_up, session=_str(facts.object, "id"),
                        intent=_str(facts.object, "payment_intent"))
    await _advance(uow, facts.top_up, TopUpStatus.FAILED)


async def session_expired(uow: UnitOfWork, facts: Facts) -> None:
    await _advance(uow, facts.top_up, TopUpStatus.EXPIRED)


async def charge_refunded(uow: UnitOfWork, facts: Facts) -> None:
    """One debit per refund id: the event lists every refund so far, so repeats are no-ops."""
    charge, top_up = facts.object, facts.top_up
    await _remember_ids(uow, top_up, session=None, intent=_str(charge, "payment_intent"))
    for refund in facts.refunds:
        refund_id = _str(refund, "id")
        if refund_id is None or refund.get("status") in _REFUND_VOID:
            continue
        if _same_currency(top_up, refund):
            await _post(uow, top_up, EntryKind.REFUND, -_int(refund, "amount"),
                        f"refund:{refund_id}", refund_id)
    await _advance(uow, top_up, TopUpStatus.REFUNDED if charge.get("refunded") is True
                   else TopUpStatus.PAID)


async def _dispute_debit(uow: UnitOfWork, facts: Facts) -> str | None:
    """Debit the disputed amount once (``dispute:du_…``); inquiries (``warning_*``) move none."""
    dispute, top_up = facts.object, facts.top_up
    dispute_id = _str(dispute, "id")
    if dispute_id is None:
        raise MalformedEvent("dispute without an id")
    if str(dispute.get("status", "")).startswith("warning_") or not _same_currency(top_up, dispute):
        return None
    await _post(uow, top_up, EntryKind.DISPUTE, -_int(dispute, "amount"), f"dispute:{dispute_id}",
                dispute_id)
    return dispute_id


async def dispute_created(uow: UnitOfWork, facts: Facts) -> None:
    await _dispute_debit(uow, facts)


async def dispute_closed(uow: UnitOfWork, facts: Facts) -> None:
    """Won: the money comes back (``dispute_won:du_…``). The debit is re-derived first, so a
    ``closed`` that overtakes its ``created`` still leaves both entries."""
    dispute_id = await _dispute_debit(uow, facts)
    if dispute_id is not None and facts.object.get("status") == "won":
        await _post(uow, facts.top_up, EntryKind.DISPUTE_REVERSAL, _int(facts.object, "amount"),
                    f"dispute_won:{dispute_id}", dispute_id)
