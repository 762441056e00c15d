"""Row locks, in one place and one order: balance first, then call.

Two use cases that lock the same rows always take them in this order, so they cannot deadlock.
``SELECT … FOR UPDATE`` on PostgreSQL; SQLite has a single writer, so its transactions are
already serialised and the lock clause is dropped by Tortoise.
"""

from __future__ import annotations

from uuid import UUID

from tortoise.backends.base.client import BaseDBAsyncClient

from db.models.billing import Balance
from db.models.calls import Call


async def lock_balance(conn: BaseDBAsyncClient | None, account_ref: UUID, currency: str) -> Balance:
    """The account's balance row, created at zero if missing, locked until commit."""
    await Balance.bulk_create(
        [Balance(account_ref=account_ref, amount_minor=0, currency=currency)],
        ignore_conflicts=True,
        using_db=conn,
    )
    return await Balance.select_for_update().using_db(conn).get(account_ref=account_ref)


async def lock_call(conn: BaseDBAsyncClient | None, call_id: UUID) -> Call | None:
    return await Call.select_for_update().using_db(conn).get_or_none(id=call_id)
