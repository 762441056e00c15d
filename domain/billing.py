"""Prepaid balance: top-ups through a hosted checkout, and what other domains may read.

Card data never reaches us: ``create_top_up`` records a pending top-up and asks the payment
gateway (Stripe Checkout) for a page to pay on. Money only moves when the gateway's signed
webhook says so (``domain.billing_events``), through ``domain.ledger.post``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Protocol
from uuid import UUID

from db.models.accounts import User
from db.models.billing import Balance, LedgerEntry, TopUp
from domain.errors import DomainError

logger = logging.getLogger(__name__)

#: Stripe's zero-decimal currencies: their minor unit is the whole unit.
_ZERO_DECIMAL = frozenset({
    "BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA", "PYG", "RWF", "UGX", "VND", "VUV",
    "XAF", "XOF", "XPF",
})


class TopUpStatus(Enum):
    """Where a top-up is in its payment; see ``billing_events`` for how it moves."""

    PENDING = "pending"
    PROCESSING = "processing"
    PAID = "paid"
    FAILED = "failed"
    EXPIRED = "expired"
    REFUNDED = "refunded"


class CreateTopUpErrorCode(Enum):
    AMOUNT_NOT_POSITIVE = "AMOUNT_NOT_POSITIVE"
    AMOUNT_BELOW_MINIMUM = "AMOUNT_BELOW_MINIMUM"
    AMOUNT_ABOVE_MAXIMUM = "AMOUNT_ABOVE_MAXIMUM"
    ACCOUNT_CLOSED = "ACCOUNT_CLOSED"
    PAYMENTS_UNAVAILABLE = "PAYMENTS_UNAVAILABLE"


class CreateTopUpRefused(DomainError):
    pass


class PaymentGatewayError(Exception):
    """The gateway failed or refused; ``retryable`` when trying again later may work."""

    def __init__(self, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable


@dataclass(frozen=True, slots=True)
class CheckoutRequest:
    """One hosted checkout for one top-up; ``idempotency_key`` makes retries safe."""

    top_up_id: UUID
    user_id: UUID
    amount_minor: int
    currency: str
    description: str
    success_url: str
    cancel_url: str
    idempotency_key: str


@dataclass(frozen=True, slots=True)
class CheckoutSession:
    id: str
    url: str | None


class PaymentGateway(Protocol):
    """The payment provider port (``providers.stripe.StripeGateway`` implements it)."""

    async def create_checkout(self, request: CheckoutRequest) -> CheckoutSession: ...

    async def payment_intent_metadata(self, payment_intent_id: str) -> dict[str, str]: ...

    async def charge_refunds(self, charge_id: str) -> list[dict[str, object]]: ...


@dataclass(frozen=True, slots=True)
class Payments:
    """The gateway plus the top-up rules from settings; built once by ``main.create_app``."""

    gateway: PaymentGateway
    currency: str
    top_up_min_minor: int
    top_up_max_minor: int
    public_base_url: str


def format_money(amount_minor: int, currency: str) -> str:
    """``500, USD`` -> ``5.00 USD`` (for messages people read)."""
    if currency.upper() in _ZERO_DECIMAL:
        return f"{amount_minor} {currency.upper()}"
    return f"{amount_minor / 100:.2f} {currency.upper()}"


def _check_amount(payments: Payments, amount_minor: int) -> None:
    if amount_minor <= 0:
        raise CreateTopUpRefused(
            CreateTopUpErrorCode.AMOUNT_NOT_POSITIVE,
            "Enter an amount greater than zero.",
            "amountMinor",
        )
    if amount_minor < payments.top_up_min_minor:
        raise CreateTopUpRefused(
            CreateTopUpErrorCode.AMOUNT_BELOW_MINIMUM,
            f"The smallest top-up is "
            f"{format_money(payments.top_up_min_minor, payments.currency)}.",
            "amountMinor",
        )
    if amount_minor > payments.top_up_max_minor:
        raise CreateTopUpRefused(
            CreateTopUpErrorCode.AMOUNT_ABOVE_MAXIMUM,
            f"The largest top-up is "
            f"{format_money(payments.top_up_max_minor, payments.currency)}.",
            "amountMinor",
        )


async def create_top_up(*, payments: Payments, user_id: UUID, amount_minor: int) -> TopUp:
    """Record a pending top-up and open a hosted checkout for it.

    The row is written before the gateway is called so the checkout can carry our id; a
    webhook then finds the top-up even if we crash before storing the session id. A negative
    balance never blocks a top-up: paying it back is exactly what the learner should do.
    """
    _check_amount(payments, amount_minor)
    user = await User.get_or_none(id=user_id)
    if user is None or user.status != "active":
        raise CreateTopUpRefused(
            CreateTopUpErrorCode.ACCOUNT_CLOSED, "This account is closed.", None
        )
    top_up = await TopUp.create(
        account_ref=user.account_ref,
        user_id=user.id,
        amount_minor=amount_minor,
        currency=payments.currency,
        status=TopUpStatus.PENDING.value,
    )
    back = f"{payments.public_base_url}/billing/top-ups/{top_up.id}"
    request = CheckoutRequest(
        top_up_id=top_up.id,
        user_id=user.id,
        amount_minor=amount_minor,
        currency=payments.currency,
        description=f"CallFluently top-up of {format_money(amount_minor, payments.currency)}",
        success_url=f"{back}?checkout=success&session_id={{CHECKOUT_SESSION_ID}}",
        cancel_url=f"{back}?checkout=cancelled",
        idempotency_key=f"top-up:{top_up.id}",
    )
    try:
        session = await payments.gateway.create_checkout(request)
    except PaymentGatewayError as exc:
        logger.warning(
            "checkout creation failed",
            extra={"top_up_id": str(top_up.id), "retryable": exc.retryable, "error": str(exc)},
        )
        await TopUp.filter(id=top_up.id).update(status=TopUpStatus.FAILED.value)
        raise CreateTopUpRefused(
            CreateTopUpErrorCode.PAYMENTS_UNAVAILABLE,
            "Payments are unavailable right now. Please try again in a few minutes.",
            None,
        ) from None
    await TopUp.filter(id=top_up.id).update(
        checkout_session_id=session.id, checkout_url=session.url
    )
    await top_up.refresh_from_db()
    logger.info("top-up created", extra={"top_up_id": str(top_up.id), "amount": amount_minor})
    return top_up


async def top_up_of(*, user_id: UUID, top_up_id: UUID) -> TopUp | None:
    """The learner's own top-up; another learner's is None, exactly like a missing one."""
    return await TopUp.get_or_none(id=top_up_id, user_id=user_id)


async def list_transactions(
    *, user_id: UUID, before_id: int | None, limit: int
) -> list[LedgerEntry]:
    """The learner's ledger entries, newest first, older than ``before_id`` (keyset)."""
    user = await User.get_or_none(id=user_id)
    if user is None:
        return []
    query = LedgerEntry.filter(account_ref=user.account_ref)
    if before_id is not None:
        query = query.filter(id__lt=before_id)
    return await query.order_by("-id").limit(limit)


@dataclass(frozen=True, slots=True)
class Money:
    amount_minor: int
    currency: str


async def balances_of(account_refs: Sequence[UUID], *, currency: str) -> list[Money]:
    """Balances of several accounts in one query (zero in ``currency`` when never posted)."""
    rows = {b.account_ref: b for b in await Balance.filter(account_ref__in=list(account_refs))}
    return [
        Money(rows[ref].amount_minor, rows[ref].currency) if ref in rows else Money(0, currency)
        for ref in account_refs
    ]


async def spendable_balance(user_id: UUID) -> int:
    """What the learner may spend now, in minor units of the configured currency.

    Negative after a refund or dispute took back money already spent; callers (starting a
    call) must refuse when this is below what they need. Read without a lock: to charge, post
    through ``domain.ledger.post`` inside a unit of work, which locks the balance row.
    """
    user = await User.get_or_none(id=user_id)
    if user is None:
        return 0
    row = await Balance.get_or_none(account_ref=user.account_ref)
    return row.amount_minor if row is not None else 0
