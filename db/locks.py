"""Row locks, in one place and one order: balance, call, analysis, progress state, user.

Two use cases that lock the same rows always take them in this order, so they cannot deadlock.
``SELECT … FOR UPDATE`` on PostgreSQL; SQLite has a single writer, so its transactions are
already serialised and the lock clause is dropped by Tortoise.

Every lock is ``FOR NO KEY UPDATE``: we never change a key, and a plain ``FOR UPDATE`` would
also conflict with the ``KEY SHARE`` lock PostgreSQL takes on a parent row whenever a child row
referencing it is written (a ledger entry, an event, a call). Two use cases that each wrote a
child row and then locked the parent deadlocked that way.
"""

from __future__ import annotations

from uuid import UUID

from tortoise.backends.base.client import BaseDBAsyncClient

from db.models.accounts import User
from db.models.analysis import Analysis, ProgressState
from db.models.billing import Balance
from db.models.calls import Call


async def lock_balance(conn: BaseDBAsyncClient | None, account_ref: UUID, currency: str) -> Balance:
    """The account's balance row, created at zero if missing, locked until commit."""
    await Balance.bulk_create(
        [Balance(account_ref=account_ref, amount_minor=0, currency=currency)],
        ignore_conflicts=True,
        using_db=conn,
    )
    return await Balance.select_for_update(no_key=True).using_db(conn).get(account_ref=account_ref)


async def lock_call(conn: BaseDBAsyncClient | None, call_id: UUID) -> Call | None:
    return await Call.select_for_update(no_key=True).using_db(conn).get_or_none(id=call_id)


async def lock_analysis(conn: BaseDBAsyncClient | None, call_id: UUID) -> Analysis | None:
    """The call's analysis row, locked: one writer decides its outcome."""
    return await Analysis.select_for_update(no_key=True).using_db(conn).get_or_none(call_id=call_id)


async def lock_progress_state(
    conn: BaseDBAsyncClient | None, user_id: UUID, timezone: str
) -> ProgressState:
    """The learner's progress counters, created (in ``timezone``) if missing, locked."""
    await ProgressState.bulk_create(
        [ProgressState(user_id=user_id, timezone=timezone)], ignore_conflicts=True, using_db=conn
    )
    return await ProgressState.select_for_update(no_key=True).using_db(conn).get(user_id=user_id)


async def lock_user(conn: BaseDBAsyncClient | None, user_id: UUID) -> User | None:
    """The user row, locked: level changes and the review flag are decided one at a time."""
    return await User.select_for_update(no_key=True).using_db(conn).get_or_none(id=user_id)
