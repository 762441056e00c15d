"""Billing in the schema: the balance, top-ups, ledger entries and `createTopUp`'s errors."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Self

import strawberry
from strawberry import relay

from db.models.billing import LedgerEntry as LedgerEntryRow
from db.models.billing import TopUp as TopUpRow
from domain import billing
from domain.ledger import EntryKind
from schema.errors import RefusalError, UserError, enum_type
from schema.pagination import Connection

enum_type(
    billing.TopUpStatus,
    name="TopUpStatus",
    values={
        "PENDING": "Checkout is open; nothing paid yet.",
        "PROCESSING": "A delayed payment method is clearing.",
        "PAID": "Paid and credited to the balance.",
        "FAILED": "The delayed payment failed; nothing credited.",
        "EXPIRED": "Checkout closed unpaid.",
        "REFUNDED": "The whole payment was returned.",
    },
    description="Where a top-up is: PENDING (checkout open), PROCESSING (a delayed payment "
    "method is clearing), PAID (credited), FAILED, EXPIRED (checkout closed unpaid), REFUNDED "
    "(the whole payment was returned).",
)
enum_type(
    EntryKind,
    name="LedgerEntryKind",
    values={
        "TOP_UP": "A Stripe payment credited.",
        "CALL_CHARGE": "A call charged per second.",
        "REFUND": "Money returned to the card.",
        "DISPUTE": "A chargeback debited.",
        "DISPUTE_REVERSAL": "A chargeback we won, credited back.",
        "ADJUSTMENT": "A manual or retention carry-forward adjustment.",
    },
    description="Why the balance moved: TOP_UP, CALL_CHARGE, REFUND (money returned to the "
    "card), DISPUTE (a chargeback), DISPUTE_REVERSAL (a chargeback we won), ADJUSTMENT.",
)
enum_type(
    billing.CreateTopUpErrorCode, "CreateTopUpErrorCode", "Why `createTopUp` refused.",
    values={
        "AMOUNT_NOT_POSITIVE": "The amount is zero or negative.",
        "AMOUNT_BELOW_MINIMUM": "The amount is below TOP_UP_MIN_MINOR.",
        "AMOUNT_ABOVE_MAXIMUM": "The amount is above TOP_UP_MAX_MINOR.",
        "ACCOUNT_CLOSED": "The account is closed.",
        "PAYMENTS_UNAVAILABLE": "Stripe could not be reached; try again later.",
    },
)
# The domain enums themselves carry the GraphQL definitions registered above.
TopUpStatus = billing.TopUpStatus
LedgerEntryKind = EntryKind
CreateTopUpErrorCode = billing.CreateTopUpErrorCode


@strawberry.type(description="A prepaid balance in minor units (cents) of its currency.")
class Balance:
    amount_minor: int = strawberry.field(
        description="Balance in minor units; negative after a refund or dispute took back "
        "money already spent (calls cannot start until it is topped up)."
    )
    currency: str = strawberry.field(description="ISO 4217 currency code, e.g. USD.")

    @classmethod
    def from_money(cls, money: billing.Money) -> Self:
        return cls(amount_minor=money.amount_minor, currency=money.currency)


@strawberry.type(description="A request to add money to the balance, paid on a hosted "
                 "checkout page. Readable only by its owner.")
class TopUp(relay.Node):
    id: relay.NodeID[str]
    row: strawberry.Private[TopUpRow]
    status: TopUpStatus = strawberry.field(description="Where the payment is.")
    amount_minor: int = strawberry.field(description="Amount asked for, in minor units.")
    currency: str = strawberry.field(description="ISO 4217 currency code.")
    checkout_url: str | None = strawberry.field(
        description="The hosted checkout page to send the learner to; null once the checkout "
        "is no longer open."
    )
    created_at: datetime = strawberry.field(description="When the top-up was asked for (UTC).")

    @classmethod
    def from_model(cls, row: TopUpRow) -> Self:
        status = billing.TopUpStatus(row.status)
        return cls(
            id=str(row.id),
            row=row,
            status=status,
            amount_minor=row.amount_minor,
            currency=row.currency,
            checkout_url=row.checkout_url if status is billing.TopUpStatus.PENDING else None,
            created_at=row.created_at,
        )


@strawberry.type(description="One append-only entry of the learner's ledger.")
class LedgerEntry(relay.Node):
    id: relay.NodeID[str]
    kind: LedgerEntryKind = strawberry.field(description="Why the balance moved.")
    amount_minor: int = strawberry.field(
        description="Signed amount in minor units: positive adds to the balance."
    )
    currency: str = strawberry.field(description="ISO 4217 currency code.")
    balance_after_minor: int = strawberry.field(
        description="The balance right after this entry, in minor units."
    )
    created_at: datetime = strawberry.field(description="When it was posted (UTC).")
    reference: str | None = strawberry.field(
        description="The provider's id for what caused it: a Stripe checkout session (cs_…), "
        "refund (re_…) or dispute (du_…), or a call id."
    )

    @classmethod
    def from_model(cls, row: LedgerEntryRow) -> Self:
        return cls(
            id=str(row.id),
            kind=EntryKind(row.kind),
            amount_minor=row.amount_minor,
            currency=row.currency,
            balance_after_minor=row.balance_after_minor,
            created_at=row.created_at,
            reference=row.reference,
        )


LedgerEntryConnection = Connection[LedgerEntry]


@strawberry.type(description="`createTopUp` refused: see `code` and `field`.")
class CreateTopUpError(RefusalError, UserError):
    code: CreateTopUpErrorCode = strawberry.field(description="Why it was refused.")


CreateTopUpResult = Annotated[
    TopUp | CreateTopUpError,
    strawberry.union(
        "CreateTopUpResult", description="The pending top-up with its checkout page, or why not."
    ),
]
