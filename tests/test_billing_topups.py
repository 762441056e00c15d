"""Top-ups through GraphQL and the Stripe twin: checkout, payment outcomes, refusals, access."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

import httpx
import pytest

from db.models.accounts import User
from domain import billing
from main import Runtime
from schema.ids import decode_uuid
from tests.conftest import gql, register
from tests.stripe_twin import (
    CREATE_TOP_UP,
    TOP_UP,
    TRANSACTIONS,
    StripeTwin,
    balance,
    create_top_up,
    entries,
    session_of,
    top_up_status,
)


@pytest.fixture
def twin(client: httpx.AsyncClient, runtime: Runtime) -> StripeTwin:
    settings = runtime.settings
    return StripeTwin(client, str(settings.stripe_api_key), str(settings.stripe_webhook_secret))


async def test_create_top_up_opens_a_checkout_session_for_the_amount(
    client: httpx.AsyncClient, twin: StripeTwin
) -> None:
    # given
    learner = await register(client)

    # when
    top_up = await create_top_up(client, 2000)

    # then
    assert top_up["__typename"] == "TopUp"
    assert (top_up["status"], top_up["amountMinor"], top_up["currency"]) == ("PENDING", 2000, "USD")
    assert top_up["checkoutUrl"].startswith("http://testserver/sandbox/stripe/pay/cs_test_")
    top_up_id = str(decode_uuid(top_up["id"], "TopUp"))
    user_id = str(decode_uuid(learner["user"]["id"], "User"))
    session = await twin.session(session_of(top_up))
    assert session["mode"] == "payment"
    assert (session["amount_total"], session["currency"]) == (2000, "usd")
    assert session["client_reference_id"] == top_up_id
    assert session["metadata"] == {"top_up_id": top_up_id, "user_id": user_id}
    assert session["success_url"] == (
        f"http://testserver/billing/top-ups/{top_up_id}"
        "?checkout=success&session_id={CHECKOUT_SESSION_ID}"
    )
    assert session["cancel_url"] == f"http://testserver/billing/top-ups/{top_up_id}?checkout=cancelled"
    assert (await gql(client, TOP_UP, {"id": top_up["id"]}))["data"]["topUp"] == {
        key: top_up[key] for key in ("id", "status", "amountMinor", "currency", "checkoutUrl")
    }
    assert await balance(client) == 0
    assert await entries(client) == []


async def test_completed_event_arriving_five_times_credits_once(
    client: httpx.AsyncClient, twin: StripeTwin
) -> None:
    # given
    await register(client)
    top_up = await create_top_up(client, 2500)
    session = session_of(top_up)
    paid = await twin.complete(session, deliver=False)
    [event_id] = paid["event_ids"]

    # when
    deliveries = await twin.redeliver(event_id, times=5)

    # then
    assert [d["status"] for d in deliveries] == [200] * 5
    assert await balance(client) == 2500
    assert await entries(client) == [("TOP_UP", 2500, 2500)]
    node = (await gql(client, TRANSACTIONS))["data"]["transactions"]["edges"][0]["node"]
    assert (node["reference"], node["currency"]) == (session, "USD")
    found = (await gql(client, TOP_UP, {"id": top_up["id"]}))["data"]["topUp"]
    assert (found["status"], found["checkoutUrl"]) == ("PAID", None)


async def test_paying_on_the_twins_checkout_page_credits_and_returns_to_us(
    client: httpx.AsyncClient,
) -> None:
    # given
    await register(client)
    top_up = await create_top_up(client, 1000)
    page = await client.get(top_up["checkoutUrl"])
    assert page.status_code == 200 and "Pay" in page.text

    # when
    paid = await client.post(top_up["checkoutUrl"])

    # then
    top_up_id = decode_uuid(top_up["id"], "TopUp")
    assert paid.status_code == 303
    assert paid.headers["location"] == (
        f"http://testserver/billing/top-ups/{top_up_id}?checkout=success"
        f"&session_id={session_of(top_up)}"
    )
    assert await balance(client) == 1000
    assert await top_up_status(client, top_up["id"]) == "PAID"
    landing = await client.get(paid.headers["location"])
    assert landing.status_code == 200 and "Payment received" in landing.text


async def test_delayed_payment_waits_for_its_outcome_then_credits(
    client: httpx.AsyncClient, twin: StripeTwin
) -> None:
    # given
    await register(client)
    top_up = await create_top_up(client, 3000)
    held = await twin.complete(session_of(top_up), deliver=False, **{"async": True})
    completed, succeeded = held["event_ids"]

    # when the session completes unpaid
    await twin.deliver(completed)

    # then nothing is credited yet
    assert await top_up_status(client, top_up["id"]) == "PROCESSING"
    assert await balance(client) == 0

    # when the bank debit clears (twice, and the completion again)
    await twin.deliver(succeeded, succeeded, completed)

    # then it is credited once
    assert await top_up_status(client, top_up["id"]) == "PAID"
    assert await balance(client) == 3000
    assert await entries(client) == [("TOP_UP", 3000, 3000)]


async def test_delayed_payment_that_fails_credits_nothing(
    client: httpx.AsyncClient, twin: StripeTwin
) -> None:
    # given
    await register(client)
    top_up = await create_top_up(client, 3000)

    # when
    done = await twin.complete(session_of(top_up), outcome="failed", **{"async": True})

    # then
    assert [d["status"] for d in done["deliveries"]] == [200, 200]
    assert await top_up_status(client, top_up["id"]) == "FAILED"
    assert await balance(client) == 0
    assert await entries(client) == []


async def test_expired_checkout_marks_the_top_up_and_credits_nothing(
    client: httpx.AsyncClient, twin: StripeTwin
) -> None:
    # given
    await register(client)
    top_up = await create_top_up(client, 800)

    # when
    done = await twin.expire(session_of(top_up))

    # then
    assert [d["status"] for d in done["deliveries"]] == [200]
    found = (await gql(client, TOP_UP, {"id": top_up["id"]}))["data"]["topUp"]
    assert (found["status"], found["checkoutUrl"]) == ("EXPIRED", None)
    assert await balance(client) == 0
    assert await entries(client) == []


async def _event_count(client: httpx.AsyncClient) -> int:
    """How many events the Stripe twin has emitted so far (a refused top-up adds none)."""
    return len((await client.get("/sandbox/stripe/_control/events")).json()["data"])


@pytest.mark.parametrize(
    ("amount", "code", "message"),
    [
        (0, "AMOUNT_NOT_POSITIVE", "Enter an amount greater than zero."),
        (-500, "AMOUNT_NOT_POSITIVE", "Enter an amount greater than zero."),
        (499, "AMOUNT_BELOW_MINIMUM", "The smallest top-up is 5.00 USD."),
        (50_001, "AMOUNT_ABOVE_MAXIMUM", "The largest top-up is 500.00 USD."),
    ],
)
async def test_amounts_outside_the_limits_are_typed_errors(
    client: httpx.AsyncClient, twin: StripeTwin, amount: int, code: str, message: str
) -> None:
    # given
    await register(client)
    events_before = await _event_count(client)

    # when
    result = await create_top_up(client, amount)

    # then
    assert result == {
        "__typename": "CreateTopUpError", "code": code, "field": "amountMinor", "message": message,
    }
    assert await balance(client) == 0
    assert await entries(client) == []
    assert await _event_count(client) == events_before


@pytest.mark.parametrize(
    ("document", "variables", "message"),
    [
        ("mutation { createTopUp(amountMinor: 12.5) { __typename } }", {},
         "Int cannot represent non-integer value: 12.5"),
        (CREATE_TOP_UP, {"amount": 12.5},
         "Variable '$amount' has invalid value: Int cannot represent non-integer value: 12.5"),
        (CREATE_TOP_UP, {"amount": "1000"},
         "Variable '$amount' has invalid value: Int cannot represent non-integer value: '1000'"),
        (CREATE_TOP_UP, {"amount": 2**31},
         "Variable '$amount' has invalid value: Int cannot represent non 32-bit signed integer "
         "value: 2147483648"),
    ],
)
async def test_non_integer_amounts_are_graphql_validation_errors(
    client: httpx.AsyncClient, document: str, variables: dict[str, Any], message: str
) -> None:
    # given
    await register(client)

    # when
    response = await client.post("/graphql", json={"query": document, "variables": variables})

    # then
    assert response.status_code in (200, 400), response.text
    body = response.json()
    assert body.get("data") is None
    assert [e["message"] for e in body["errors"]] == [message]
    assert await balance(client) == 0


async def test_signed_out_callers_cannot_top_up_or_read_billing(client: httpx.AsyncClient) -> None:
    for document, variables, data in [
        (CREATE_TOP_UP, {"amount": 1000}, None),
        (TOP_UP, {"id": "VG9wVXA6MDAwMDAwMDAtMDAwMC0wMDAwLTAwMDAtMDAwMDAwMDAwMDAw"},
         {"topUp": None}),
        (TRANSACTIONS, {}, None),
    ]:
        body = await gql(client, document, variables, expect_errors=True)
        assert body["data"] == data
        assert [(e["message"], e["extensions"]["code"]) for e in body["errors"]] == [
            ("Sign in to do this.", "UNAUTHENTICATED")
        ]


async def test_another_learners_top_up_and_ledger_are_not_visible(
    client: httpx.AsyncClient, new_client: Callable[[], httpx.AsyncClient], twin: StripeTwin
) -> None:
    # given an owner with a paid top-up
    await register(client)
    top_up = await create_top_up(client, 1200)
    await twin.complete(session_of(top_up))

    async with new_client() as other:
        await register(other)

        # when another learner asks for it
        seen = await gql(other, TOP_UP, {"id": top_up["id"]})

        # then it does not exist for them, and their ledger is their own
        assert seen == {"data": {"topUp": None}}
        assert await entries(other) == []
        assert await balance(other) == 0
    assert await top_up_status(client, top_up["id"]) == "PAID"
    assert (await gql(client, TOP_UP, {"id": "not-an-id"}))["data"] == {"topUp": None}


async def test_transactions_page_newest_first_with_cursors(
    client: httpx.AsyncClient, twin: StripeTwin
) -> None:
    # given three credited top-ups
    await register(client)
    for amount in (500, 600, 700):
        await twin.complete(session_of(await create_top_up(client, amount)))

    # when
    first = (await gql(client, TRANSACTIONS, {"first": 2}))["data"]["transactions"]
    after = first["pageInfo"]["endCursor"]
    second = (await gql(client, TRANSACTIONS, {"first": 2, "after": after}))["data"]["transactions"]

    # then
    assert [e["node"]["amountMinor"] for e in first["edges"]] == [700, 600]
    assert [e["node"]["balanceAfterMinor"] for e in first["edges"]] == [1800, 1100]
    assert (first["pageInfo"]["hasNextPage"], first["pageInfo"]["hasPreviousPage"]) == (True, False)
    assert [e["node"]["amountMinor"] for e in second["edges"]] == [500]
    assert (second["pageInfo"]["hasNextPage"], second["pageInfo"]["hasPreviousPage"]) == (
        False, True,
    )


@pytest.mark.parametrize(
    ("variables", "message"),
    [({"first": 0}, "`first` must be between 1 and 100."),
     ({"first": 101}, "`first` must be between 1 and 100."),
     ({"after": "%%%"}, "Invalid cursor."),
     ({"after": "bm90LWEtbnVtYmVy"}, "Invalid cursor.")],
)
async def test_bad_paging_arguments_are_user_input_errors(
    client: httpx.AsyncClient, variables: dict[str, Any], message: str
) -> None:
    await register(client)

    body = await gql(client, TRANSACTIONS, variables, expect_errors=True)

    assert body["data"] is None
    assert [(e["message"], e["extensions"]["code"]) for e in body["errors"]] == [
        (message, "BAD_USER_INPUT")
    ]


async def test_a_closed_account_cannot_top_up(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    # given a learner whose account was closed (closure belongs to the privacy issue)
    learner = await register(client)
    user_id = decode_uuid(learner["user"]["id"], "User")
    await User.filter(id=user_id).update(status="closed")

    # when they try through the API, their session no longer counts
    body = await gql(client, CREATE_TOP_UP, {"amount": 1000}, expect_errors=True)
    assert [e["extensions"]["code"] for e in body["errors"]] == ["UNAUTHENTICATED"]

    # and the use case itself refuses, whoever calls it
    with pytest.raises(billing.CreateTopUpRefused) as refused:
        await billing.create_top_up(
            payments=runtime.services.payments, user_id=user_id, amount_minor=1000
        )
    assert (refused.value.code, refused.value.field, refused.value.message) == (
        billing.CreateTopUpErrorCode.ACCOUNT_CLOSED, None, "This account is closed."
    )


class _DownGateway:
    """A payment provider that cannot be reached."""

    async def create_checkout(self, request: billing.CheckoutRequest) -> billing.CheckoutSession:
        raise billing.PaymentGatewayError("connection refused", retryable=True)

    async def payment_intent_metadata(self, payment_intent_id: str) -> dict[str, str]:
        raise billing.PaymentGatewayError("connection refused", retryable=True)

    async def charge_refunds(self, charge_id: str) -> list[dict[str, object]]:
        raise billing.PaymentGatewayError("connection refused", retryable=True)


async def test_an_unreachable_gateway_is_a_typed_refusal(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    # given
    learner = await register(client)
    user_id: UUID = decode_uuid(learner["user"]["id"], "User")
    payments = runtime.services.payments
    down = billing.Payments(
        gateway=_DownGateway(), currency=payments.currency,
        top_up_min_minor=payments.top_up_min_minor, top_up_max_minor=payments.top_up_max_minor,
        public_base_url=payments.public_base_url,
    )

    # when
    with pytest.raises(billing.CreateTopUpRefused) as refused:
        await billing.create_top_up(payments=down, user_id=user_id, amount_minor=1000)

    # then
    assert (refused.value.code, refused.value.field) == (
        billing.CreateTopUpErrorCode.PAYMENTS_UNAVAILABLE, None
    )
    assert await balance(client) == 0
