"""Billing resolvers: top up the balance, read a top-up, page through the ledger."""

from __future__ import annotations

from typing import Annotated

import strawberry

from domain import billing
from resolvers.context import Context, graphql_error
from schema.billing import (
    CreateTopUpError,
    CreateTopUpResult,
    LedgerEntry,
    LedgerEntryConnection,
    TopUp,
)
from schema.ids import BadId, decode_uuid
from schema.pagination import connection, decode_cursor, page_size

Info = strawberry.Info[Context, None]


async def create_top_up(
    info: Info,
    amount_minor: Annotated[
        int, strawberry.argument(description="Amount in minor units of the configured currency.")
    ],
) -> CreateTopUpResult:
    principal = info.context.require_principal()
    try:
        row = await billing.create_top_up(
            payments=info.context.services.payments,
            user_id=principal.user_id,
            amount_minor=amount_minor,
        )
    except billing.CreateTopUpRefused as exc:
        return CreateTopUpError.from_refusal(exc)
    return TopUp.from_model(row)


async def top_up(
    info: Info, id: Annotated[strawberry.ID, strawberry.argument(description="The top-up's ID.")]
) -> TopUp | None:
    principal = info.context.require_principal()
    try:
        top_up_id = decode_uuid(str(id), "TopUp")
    except BadId:
        return None
    row = await billing.top_up_of(user_id=principal.user_id, top_up_id=top_up_id)
    return TopUp.from_model(row) if row is not None else None


async def transactions(
    info: Info,
    first: Annotated[
        int | None, strawberry.argument(description="Page size: default 20, at most 100.")
    ] = None,
    after: Annotated[
        str | None, strawberry.argument(description="Cursor of the last entry already seen.")
    ] = None,
) -> LedgerEntryConnection:
    principal = info.context.require_principal()
    try:
        size = page_size(first)
        cursor = decode_cursor(after)
        before_id = int(cursor) if cursor is not None else None
    except ValueError as exc:
        message = str(exc) if "first" in str(exc) else "Invalid cursor."
        raise graphql_error(message, "BAD_USER_INPUT") from None
    rows = await billing.list_transactions(
        user_id=principal.user_id, before_id=before_id, limit=size + 1
    )
    return connection(
        [LedgerEntry.from_model(r) for r in rows],
        size=size,
        cursor_of=lambda entry: str(entry.id),
        had_previous=before_id is not None,
    )


@strawberry.type
class BillingQuery:
    top_up: TopUp | None = strawberry.field(
        resolver=top_up,
        description="One of the signed-in learner's own top-ups; null for an unknown id or "
        "someone else's. Requires sign-in.",
    )
    transactions: LedgerEntryConnection = strawberry.field(
        resolver=transactions,
        description="The signed-in learner's ledger, newest first (`first` 1–100, default 20; "
        "`after` is the previous page's `endCursor`). Requires sign-in.",
    )


@strawberry.type
class BillingMutation:
    create_top_up: CreateTopUpResult = strawberry.mutation(
        resolver=create_top_up,
        description="Start adding `amountMinor` (minor units of the configured currency, within "
        "the configured minimum and maximum) to the signed-in learner's balance: returns a "
        "pending top-up whose `checkoutUrl` is the hosted payment page. The balance is credited "
        "when the payment provider confirms payment. Requires sign-in.",
    )
