"""Deleting payment records older than 10 years without breaking the ledger's invariant.

``balance == sum(entries)`` must keep holding for an account that is still in use, so the
expired entries of such an account are replaced by one ``adjustment`` entry carrying their sum
forward (business key ``retention-forward:<account>:<last expired id>``). It names no person
and no payment, only an amount. An account with nothing newer left and no active learner is
removed outright, balance row included.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from tortoise.backends.base.client import BaseDBAsyncClient

from db.locks import lock_balance
from db.models.accounts import User
from db.models.billing import Balance, LedgerEntry, TopUp
from domain.ledger import EntryKind

FORWARD_PREFIX = "retention-forward:"


async def _expire_account(
    conn: BaseDBAsyncClient | None, account_ref: UUID, cutoff: datetime, counts: dict[str, int]
) -> None:
    first = await LedgerEntry.filter(account_ref=account_ref).using_db(conn).first()
    if first is None:
        return
    await lock_balance(conn, account_ref, first.currency)
    expired = await LedgerEntry.filter(
        account_ref=account_ref, created_at__lte=cutoff
    ).using_db(conn).order_by("id")
    real = [e for e in expired if not e.business_key.startswith(FORWARD_PREFIX)]
    if not real:
        return
    forwards = await LedgerEntry.filter(
        account_ref=account_ref, business_key__startswith=FORWARD_PREFIX
    ).using_db(conn)
    gone = {e.id for e in real} | {e.id for e in forwards}
    newer = await LedgerEntry.filter(account_ref=account_ref).exclude(id__in=gone).using_db(
        conn
    ).exists()
    active = await User.filter(account_ref=account_ref, status="active").using_db(conn).exists()
    await LedgerEntry.filter(id__in=gone).using_db(conn).delete()
    counts["ledger_entries_deleted"] += len(real)
    if not newer and not active:
        await Balance.filter(account_ref=account_ref).using_db(conn).delete()
        return
    last = real[-1]
    await LedgerEntry.create(
        account_ref=account_ref,
        user_id=last.user_id,  # type: ignore[attr-defined]
        kind=EntryKind.ADJUSTMENT.value,
        amount_minor=sum(e.amount_minor for e in real) + sum(e.amount_minor for e in forwards),
        currency=last.currency,
        balance_after_minor=last.balance_after_minor,
        business_key=f"{FORWARD_PREFIX}{account_ref}:{last.id}",
        reference="Entries older than 10 years, summarised (payment-record retention).",
        created_at=last.created_at,
        using_db=conn,
    )
    counts["ledger_balances_carried_forward"] += 1


async def expire_payment_records(
    conn: BaseDBAsyncClient | None, *, cutoff: datetime, counts: dict[str, int]
) -> None:
    """Delete ledger entries and top-ups created on or before ``cutoff``."""
    counts.setdefault("ledger_entries_deleted", 0)
    counts.setdefault("ledger_balances_carried_forward", 0)
    accounts: list[UUID] = await LedgerEntry.filter(created_at__lte=cutoff).exclude(
        business_key__startswith=FORWARD_PREFIX
    ).using_db(conn).distinct().values_list("account_ref", flat=True)  # type: ignore[assignment]
    for account_ref in sorted(set(accounts), key=str):
        await _expire_account(conn, account_ref, cutoff, counts)
    counts["top_ups_deleted"] = await TopUp.filter(created_at__lte=cutoff).using_db(
        conn
    ).delete()
