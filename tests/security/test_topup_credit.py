"""Issue 13, finding 2: one top-up is credited once, never above its amount, and only from the
Checkout Session stored on it.

Three signed ``checkout.session.completed`` events naming one unpaid 500 top-up in their
metadata, each with a new session id and ``amount_total: 5000000``, used to credit 15,000,000.
"""

from __future__ import annotations

import logging

import httpx
import pytest

from main import Runtime
from schema.ids import decode_uuid
from tests.conftest import register
from tests.stripe_twin import StripeTwin, balance, create_top_up, entries, post_webhook, session_of


@pytest.fixture
def twin(client: httpx.AsyncClient, runtime: Runtime) -> StripeTwin:
    settings = runtime.settings
    return StripeTwin(client, str(settings.stripe_api_key), str(settings.stripe_webhook_secret))


def forged_completion(n: int, top_up_id: str, session: str, amount: int) -> dict[str, object]:
    return {
        "id": f"evt_forged_{n}_{top_up_id[:8]}", "object": "event",
        "type": "checkout.session.completed", "api_version": "2025-03-31.basil",
        "data": {"object": {
            "id": session, "object": "checkout.session", "mode": "payment",
            "payment_status": "paid", "status": "complete", "amount_total": amount,
            "currency": "usd", "payment_intent": f"pi_forged_{n}",
            "client_reference_id": top_up_id, "metadata": {"top_up_id": top_up_id},
        }},
    }


async def test_finding_02_forged_sessions_cannot_mint_credit(
    client: httpx.AsyncClient, twin: StripeTwin, caplog: pytest.LogCaptureFixture
) -> None:
    await register(client)
    top_up = await create_top_up(client, 500)
    top_up_uuid = str(decode_uuid(top_up["id"], "TopUp"))

    with caplog.at_level(logging.WARNING):
        answers = [await post_webhook(client, forged_completion(n, top_up_uuid,
                                                                f"cs_forged_{n}", 5_000_000),
                                      secret=twin.webhook_secret) for n in range(3)]

    assert [a.status_code for a in answers] == [200, 200, 200]
    assert await balance(client) == 0
    assert await entries(client) == []
    assert sum("not the top-up's checkout session" in r.getMessage()
               for r in caplog.records) == 3


async def test_finding_02_its_own_session_with_an_inflated_total_is_refused(
    client: httpx.AsyncClient, twin: StripeTwin
) -> None:
    await register(client)
    top_up = await create_top_up(client, 500)
    top_up_uuid = str(decode_uuid(top_up["id"], "TopUp"))
    session = session_of(top_up)

    inflated = await post_webhook(client, forged_completion(1, top_up_uuid, session, 5_000_000),
                                  secret=twin.webhook_secret)
    assert inflated.status_code == 200
    assert await balance(client) == 0

    paid = await twin.complete(session)
    again = await post_webhook(client, forged_completion(2, top_up_uuid, session, 500),
                               secret=twin.webhook_secret)

    assert [d["status"] for d in paid["deliveries"]] == [200]
    assert again.status_code == 200
    assert await balance(client) == 500  # credited once, by its own session
    assert await entries(client) == [("TOP_UP", 500, 500)]
