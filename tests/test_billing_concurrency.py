"""Many credits and debits on one account at once keep ``balance == sum(ledger)`` (PostgreSQL)."""

from __future__ import annotations

import asyncio
import random

import httpx
import pytest

from db.models.accounts import User
from db.models.billing import Balance, LedgerEntry
from main import Runtime
from schema.ids import decode_uuid
from tests.conftest import register
from tests.stripe_twin import StripeTwin, balance, create_top_up, entries, session_of

PAYMENTS = 50
AMOUNT = 1000
DISPUTED = 300


@pytest.mark.postgres_only
async def test_100_concurrent_credits_and_debits_keep_balance_equal_to_the_ledger(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    # given 50 paid top-ups, each also charged back in part, with every event held back
    settings = runtime.settings
    twin = StripeTwin(client, str(settings.stripe_api_key), str(settings.stripe_webhook_secret))
    learner = await register(client)
    top_ups = await asyncio.gather(*(create_top_up(client, AMOUNT) for _ in range(PAYMENTS)))
    credits, debits = [], []
    for top_up in top_ups:
        paid = await twin.complete(session_of(top_up), deliver=False)
        opened = await twin.dispute(paid["charge"], amount=DISPUTED, deliver=False)
        credits += paid["event_ids"]
        debits += opened["event_ids"]
    events = credits + debits + credits[:20]  # twenty also arrive twice, racing themselves
    random.Random(7).shuffle(events)

    # when all of them are delivered at once
    deliveries = await asyncio.gather(*(twin.deliver(event_id) for event_id in events))

    # then every delivery was accepted and each fact was posted exactly once
    assert [d["status"] for [d] in deliveries] == [200] * len(events)
    expected = PAYMENTS * (AMOUNT - DISPUTED)
    assert await balance(client) == expected
    ledger = await entries(client)
    assert sorted(kind for kind, _, _ in ledger) == ["DISPUTE"] * PAYMENTS + ["TOP_UP"] * PAYMENTS
    # the running balance each entry recorded is consistent with its predecessor
    running = 0
    for _, amount, after in ledger:
        running += amount
        assert after == running

    # and the cached balance equals the sum of the ledger, read from the tables themselves
    user = await User.get(id=decode_uuid(learner["user"]["id"], "User"))
    cached = await Balance.get(account_ref=user.account_ref)
    amounts = await LedgerEntry.filter(account_ref=user.account_ref).values_list(
        "amount_minor", flat=True
    )
    assert cached.amount_minor == sum(amounts) == expected
    assert len(amounts) == 2 * PAYMENTS
