"""The append-only ledger: the only code that changes a balance.

Every entry carries a UNIQUE business key (``stripe:cs_…``, ``call:<id>``, ``refund:re_…``), so
posting the same fact twice is a no-op. The cached balance moves by an atomic update under a
row lock in the same transaction as the entry, so ``balance == sum(entries)`` always holds.
"""

from __future__ import annotations

from enum import Enum
from uuid import UUID

from tortoise.expressions import F

from db.locks import lock_balance
from db.models.billing import Balance, LedgerEntry
from domain.uow import UnitOfWork

BALANCE_CHANGED = "balance.changed"


class EntryKind(Enum):
    TOP_UP = "top_up"
    CALL_CHARGE = "call_charge"
    REFUND = "refund"
    DISPUTE = "dispute"
    DISPUTE_REVERSAL = "dispute_reversal"
    ADJUSTMENT = "adjustment"


async def post(
    uow: UnitOfWork,
    *,
    account_ref: UUID,
    user_id: UUID | None,
    kind: EntryKind,
    amount_minor: int,
    currency: str,
    business_key: str,
    reference: str | None = None,
) -> LedgerEntry | None:
    """Append one entry inside ``uow`` and move the balance; None if the key was posted before."""
    balance = await lock_balance(uow.conn, account_ref, currency)
    if await LedgerEntry.filter(business_key=business_key).using_db(uow.conn).exists():
        return None
    if balance.currency != currency:
        raise ValueError(f"ledger currency mismatch: {balance.currency} != {currency}")
    await Balance.filter(account_ref=account_ref).using_db(uow.conn).update(
        amount_minor=F("amount_minor") + amount_minor
    )
    after = await Balance.filter(account_ref=account_ref).using_db(uow.conn).first()
    assert after is not None
    entry = await LedgerEntry.create(
        account_ref=account_ref,
        user_id=user_id,
        kind=kind.value,
        amount_minor=amount_minor,
        currency=currency,
        balance_after_minor=after.amount_minor,
        business_key=business_key,
        reference=reference,
        using_db=uow.conn,
    )
    if user_id is not None:
        await uow.emit(
            user_id=user_id,
            type=BALANCE_CHANGED,
            payload={
                "amountMinor": after.amount_minor,
                "currency": currency,
                "deltaMinor": amount_minor,
                "kind": kind.value,
                "entryId": entry.id,
            },
        )
    return entry


async def balance_of(account_ref: UUID, currency: str) -> int:
    row = await Balance.get_or_none(account_ref=account_ref)
    return row.amount_minor if row else 0


async def exists(uow: UnitOfWork, business_key: str) -> bool:
    """Whether an entry with ``business_key`` was posted (read in ``uow``'s transaction)."""
    return await LedgerEntry.filter(business_key=business_key).using_db(uow.conn).exists()
