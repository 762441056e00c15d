"""Stripe's webhook: signatures, refunds, disputes, and events in any order or repeated."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import pytest

from domain import billing, billing_effects, billing_events
from main import Runtime
from tests.conftest import gql, register
from tests.stripe_twin import (
    TRANSACTIONS,
    StripeTwin,
    balance,
    create_top_up,
    entries,
    post_webhook,
    session_of,
    top_up_status,
)


@pytest.fixture
def twin(client: httpx.AsyncClient, runtime: Runtime) -> StripeTwin:
    settings = runtime.settings
    return StripeTwin(client, str(settings.stripe_api_key), str(settings.stripe_webhook_secret))


async def paid_top_up(client: httpx.AsyncClient, twin: StripeTwin, amount: int) -> dict[str, Any]:
    """A learner's top-up, paid by card and credited; returns the twin's completion."""
    top_up = await create_top_up(client, amount)
    done: dict[str, Any] = await twin.complete(session_of(top_up))
    return {**done, "top_up": top_up}


async def _edges(client: httpx.AsyncClient) -> list[dict[str, Any]]:
    """The ledger page as GraphQL returns it, newest first."""
    edges: list[dict[str, Any]] = (await gql(client, TRANSACTIONS))["data"]["transactions"][
        "edges"
    ]
    return edges


async def test_partial_then_full_refund_debits_each_refund_once(
    client: httpx.AsyncClient, twin: StripeTwin
) -> None:
    # given
    await register(client)
    paid = await paid_top_up(client, twin, 2000)
    top_up_id = paid["top_up"]["id"]

    # when part is refunded
    first = await twin.refund(paid["payment_intent"], 500)

    # then
    assert await balance(client) == 1500
    assert await top_up_status(client, top_up_id) == "PAID"

    # when the rest is refunded (this event lists both refunds)
    second = await twin.refund(paid["payment_intent"])

    # then
    assert second["amount"] == 1500
    assert await balance(client) == 0
    assert await top_up_status(client, top_up_id) == "REFUNDED"
    assert await entries(client) == [("TOP_UP", 2000, 2000), ("REFUND", -500, 1500),
                                     ("REFUND", -1500, 0)]

    # when every charge.refunded event arrives again
    refunded = (await client.get("/sandbox/stripe/_control/events",
                                 params={"type": "charge.refunded"})).json()["data"]
    ours = [e["id"] for e in refunded if e["data"]["object"]["payment_intent"]
            == paid["payment_intent"]]
    assert len(ours) == 2
    await twin.deliver(*ours, *reversed(ours))

    # then nothing changes
    assert await balance(client) == 0
    assert [kind for kind, _, _ in await entries(client)] == ["TOP_UP", "REFUND", "REFUND"]
    assert {first["id"], second["id"]} == {
        e["node"]["reference"] for e in (await _edges(client)) if e["node"]["kind"] == "REFUND"
    }


async def test_a_refund_that_overtakes_the_payment_ends_in_the_same_ledger(
    client: httpx.AsyncClient, twin: StripeTwin
) -> None:
    # given a paid session whose completion event is held back
    await register(client)
    top_up = await create_top_up(client, 1500)
    held = await twin.complete(session_of(top_up), deliver=False)

    # when the refund is delivered first
    await twin.refund(held["payment_intent"])

    # then the debit stands alone for now
    assert await balance(client) == -1500
    assert await top_up_status(client, top_up["id"]) == "REFUNDED"

    # when the completion finally arrives
    await twin.deliver(*held["event_ids"])

    # then credit and debit cancel out, and the status does not go back
    assert await balance(client) == 0
    assert await entries(client) == [("REFUND", -1500, -1500), ("TOP_UP", 1500, 0)]
    assert await top_up_status(client, top_up["id"]) == "REFUNDED"


async def test_lost_dispute_debits_and_a_negative_balance_can_still_top_up(
    client: httpx.AsyncClient, twin: StripeTwin
) -> None:
    # given a payment partly refunded, then charged back in full
    await register(client)
    paid = await paid_top_up(client, twin, 2000)
    await twin.refund(paid["payment_intent"], 500)
    opened = await twin.dispute(paid["charge"])

    # when the bank decides against us
    await twin.close_dispute(opened["dispute"], "lost")

    # then the disputed amount is gone once, leaving the balance negative
    assert await balance(client) == -500
    assert await entries(client) == [
        ("TOP_UP", 2000, 2000), ("REFUND", -500, 1500), ("DISPUTE", -2000, -500),
    ]
    assert (await _edges(client))[0]["node"]["reference"] == opened["dispute"]

    # and a negative balance never blocks paying it back
    again = await create_top_up(client, 1000)
    assert (again["__typename"], again["status"]) == ("TopUp", "PENDING")
    await twin.complete(session_of(again))
    assert await balance(client) == 500


async def test_won_dispute_gives_the_money_back_once(
    client: httpx.AsyncClient, twin: StripeTwin
) -> None:
    # given
    await register(client)
    paid = await paid_top_up(client, twin, 2000)
    opened = await twin.dispute(paid["charge"], amount=1200)
    assert await balance(client) == 800

    # when
    closed = await twin.close_dispute(opened["dispute"], "won")
    await twin.deliver(*opened["event_ids"], *closed["event_ids"], *closed["event_ids"])

    # then
    assert await balance(client) == 2000
    assert await entries(client) == [
        ("TOP_UP", 2000, 2000), ("DISPUTE", -1200, 800), ("DISPUTE_REVERSAL", 1200, 2000),
    ]


async def test_dispute_events_before_the_payment_event_end_in_the_same_ledger(
    client: httpx.AsyncClient, twin: StripeTwin
) -> None:
    # given payment, dispute and its (won) outcome, all held back
    await register(client)
    top_up = await create_top_up(client, 2000)
    paid = await twin.complete(session_of(top_up), deliver=False)
    opened = await twin.dispute(paid["charge"], deliver=False)
    closed = await twin.close_dispute(opened["dispute"], "won", deliver=False)

    # when they arrive newest first (we learn the payment intent from Stripe itself)
    deliveries = await twin.deliver(*closed["event_ids"], *opened["event_ids"],
                                    *paid["event_ids"])

    # then
    assert [d["status"] for d in deliveries] == [200, 200, 200]
    assert await balance(client) == 2000
    assert sorted(await entries(client)) == sorted([
        ("DISPUTE", -2000, -2000), ("DISPUTE_REVERSAL", 2000, 0), ("TOP_UP", 2000, 2000),
    ])
    assert await top_up_status(client, top_up["id"]) == "PAID"


async def test_forged_stale_tampered_and_unsigned_events_change_nothing(
    client: httpx.AsyncClient, twin: StripeTwin
) -> None:
    # given a paid session whose real event is held back
    await register(client)
    top_up = await create_top_up(client, 900)
    held = await twin.complete(session_of(top_up), deliver=False)
    [event_id] = held["event_ids"]
    event = await twin.event(event_id)
    tampered = {**event, "data": {"object": {**event["data"]["object"], "amount_total": 90_000}}}

    # when
    forged = await post_webhook(client, event, secret="whsec_not_ours")
    stale = await post_webhook(client, event, secret=twin.webhook_secret,
                               timestamp=int(time.time()) - 600)
    altered = await post_webhook(client, event, secret=twin.webhook_secret,
                                 body=json.dumps(tampered))
    unsigned = await client.post("/webhooks/stripe", content=json.dumps(event).encode())

    # then
    assert [(r.status_code, r.json()) for r in (forged, stale, altered, unsigned)] == [
        (400, {"error": "invalid signature"}), (400, {"error": "invalid signature"}),
        (400, {"error": "invalid signature"}), (400, {"error": "missing signature"}),
    ]
    assert await balance(client) == 0
    assert await top_up_status(client, top_up["id"]) == "PENDING"

    # when the same event comes properly signed (so none of the above was recorded)
    accepted = await post_webhook(client, event, secret=twin.webhook_secret)

    # then
    assert (accepted.status_code, accepted.json()) == (200, {"received": True,
                                                             "outcome": "applied"})
    assert await balance(client) == 900
    again = await post_webhook(client, event, secret=twin.webhook_secret)
    assert again.json() == {"received": True, "outcome": "duplicate"}
    assert await balance(client) == 900


async def test_unhandled_types_and_foreign_payments_are_acknowledged_and_ignored(
    client: httpx.AsyncClient, twin: StripeTwin
) -> None:
    # given a learner, and a checkout some other integration created on the same account
    await register(client)
    form = {
        "mode": "payment", "success_url": "https://elsewhere.test/ok",
        "line_items[0][quantity]": "1", "line_items[0][price_data][currency]": "usd",
        "line_items[0][price_data][unit_amount]": "700",
        "line_items[0][price_data][product_data][name]": "Not a top-up",
    }
    created = await client.post("/sandbox/stripe/v1/checkout/sessions", data=form,
                                headers={"Authorization": f"Bearer {twin.api_key}"})
    foreign = created.json()["id"]
    customer = {"id": "evt_test_customer_created", "object": "event", "type": "customer.created",
                "data": {"object": {"id": "cus_123", "object": "customer"}}}

    # when
    ignored = await post_webhook(client, customer, secret=twin.webhook_secret)
    done = await twin.complete(foreign)
    refund = await twin.refund(done["payment_intent"], 100)

    # then
    assert ignored.json() == {"received": True, "outcome": "ignored"}
    assert [d["status"] for d in done["deliveries"]] == [200]
    assert refund["status"] == "succeeded"
    assert await balance(client) == 0
    assert await entries(client) == []


class _DownGateway:
    """Stripe unreachable: nothing can be looked up."""

    async def create_checkout(self, request: billing.CheckoutRequest) -> billing.CheckoutSession:
        raise billing.PaymentGatewayError("connection refused", retryable=True)

    async def payment_intent_metadata(self, payment_intent_id: str) -> dict[str, str]:
        raise billing.PaymentGatewayError("connection refused", retryable=True)

    async def charge_refunds(self, charge_id: str) -> list[dict[str, object]]:
        raise billing.PaymentGatewayError("connection refused", retryable=True)


async def test_an_event_we_cannot_place_yet_is_not_recorded_so_stripe_retries_it(
    client: httpx.AsyncClient, twin: StripeTwin, runtime: Runtime
) -> None:
    # given a dispute that arrives before its payment, while Stripe cannot be asked about it
    await register(client)
    top_up = await create_top_up(client, 2000)
    paid = await twin.complete(session_of(top_up), deliver=False)
    opened = await twin.dispute(paid["charge"], deliver=False)
    event = await twin.event(opened["event_ids"][0])
    dispute = billing_events.StripeEvent(event["id"], event["type"], event["data"]["object"])

    # when
    with pytest.raises(billing.PaymentGatewayError):
        await billing_events.process(
            effects=runtime.services.effects, gateway=_DownGateway(), event=dispute,
            body=json.dumps(event), handler=billing_effects.dispute_created,
        )

    # then nothing was kept, so Stripe's retry is applied in full
    assert await balance(client) == 0
    deliveries = await twin.deliver(*opened["event_ids"], *paid["event_ids"])
    assert [d["status"] for d in deliveries] == [200, 200]
    assert await entries(client) == [("DISPUTE", -2000, -2000), ("TOP_UP", 2000, 0)]
