"""The Stripe twin, driven by the real stripe-python SDK and verified by its webhook helper.

A tiny "service" app mounts the twin at ``/sandbox/stripe`` and receives webhooks at
``/webhooks/stripe``; the SDK reaches it in-process through an ``HTTPXClient`` whose async
client uses ``httpx.ASGITransport``. That client also sends the form body as ``content=``:
stock ``HTTPXClient`` passes a ``str`` as ``data=``, which httpx 0.28 deprecates, and under
``filterwarnings=error`` the warning surfaces as ``stripe.APIConnectionError``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import stripe
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route

from sandbox import SandboxContext
from sandbox.stripe import create_app

BASE = "http://service.test"
API = f"{BASE}/sandbox/stripe"
SECRET = "whsec_test_sandbox"
KEY = "sk_test_sandbox_key_123"


class InProcessHTTPXClient(stripe.HTTPXClient):
    """stripe-python's httpx client, sending into an ASGI app instead of the network."""

    def __init__(self, app: Starlette) -> None:
        super().__init__()
        self._client_async = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url=BASE
        )

    def _get_request_args_kwargs(
        self, method: str, url: str, headers: Any, post_data: Any
    ) -> list[Any]:
        args, kwargs = super()._get_request_args_kwargs(method, url, headers, post_data)
        data = kwargs.pop("data")
        if isinstance(data, str | bytes):
            kwargs["content"] = data  # what httpx 0.28 wants for a pre-encoded body
        elif data:
            kwargs["data"] = data
        return [args, kwargs]


@dataclass
class Harness:
    """The service stand-in: twin mounted, webhook receiver, SDK client and control client."""

    service: Starlette
    sdk: stripe.StripeClient
    control: httpx.AsyncClient
    received: list[stripe.Event] = field(default_factory=list)
    #: Statuses the receiver answers with, one per delivery, before falling back to 200.
    statuses: list[int] = field(default_factory=list)

    async def ctl(self, method: str, path: str, **kwargs: Any) -> Any:
        response = await self.control.request(method, f"/sandbox/stripe/_control{path}", **kwargs)
        assert response.status_code == 200, response.text
        return response.json()

    async def new_session(self, **overrides: Any) -> Any:
        params: dict[str, Any] = {
            "mode": "payment",
            "line_items": [{
                "price_data": {
                    "currency": "usd",
                    "unit_amount": 1500,
                    "product_data": {"name": "60 minutes of calls"},
                },
                "quantity": 2,
            }],
            "client_reference_id": "acct_42",
            "metadata": {"top_up_id": "tu_1"},
            "payment_intent_data": {"metadata": {"top_up_id": "tu_1"}},
            "success_url": "https://app.test/ok?session={CHECKOUT_SESSION_ID}",
            "cancel_url": "https://app.test/cancel",
        }
        params.update(overrides)
        return await self.sdk.v1.checkout.sessions.create_async(params)  # type: ignore[arg-type]

    async def paid_charge(self) -> tuple[str, str]:
        session = await self.new_session()
        done = await self.ctl("POST", f"/sessions/{session.id}/complete", json={})
        return done["payment_intent"], done["charge"]


@pytest.fixture
async def h() -> AsyncIterator[Harness]:
    holder: list[Harness] = []

    async def webhook(request: Request) -> Response:
        harness = holder[0]
        payload = await request.body()
        try:
            event = stripe.Webhook.construct_event(
                payload, request.headers.get("stripe-signature"), SECRET
            )
        except stripe.SignatureVerificationError:
            return Response(status_code=400)
        harness.received.append(event)
        return Response(status_code=harness.statuses.pop(0) if harness.statuses else 200)

    def outbound() -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.ASGITransport(app=service), base_url=BASE)

    ctx = SandboxContext(
        public_base_url=BASE,
        http_client=outbound,
        vapi_webhook_secret="unused",
        stripe_webhook_secret=SECRET,
        speed=0,
    )
    service = Starlette(routes=[
        Route("/webhooks/stripe", webhook, methods=["POST"]),
        Mount("/sandbox/stripe", app=create_app(ctx)),
    ])
    http_client = InProcessHTTPXClient(service)
    sdk = stripe.StripeClient(
        KEY, base_addresses={"api": API}, http_client=http_client, max_network_retries=0
    )
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=service), base_url=BASE
    ) as control:
        holder.append(Harness(service, sdk, control))
        yield holder[0]
    await http_client.close_async()


async def test_create_returns_a_checkout_session_and_replays_on_same_idempotency_key(
    h: Harness,
) -> None:
    params: dict[str, Any] = {
        "mode": "payment",
        "line_items": [{"price_data": {"currency": "usd", "unit_amount": 999,
                                       "product_data": {"name": "Pack"}}, "quantity": 1}],
        "client_reference_id": "acct_1",
        "metadata": {"top_up_id": "tu_9"},
        "success_url": "https://app.test/ok",
    }
    sessions = h.sdk.v1.checkout.sessions
    first = await sessions.create_async(params, options={"idempotency_key": "k-1"})  # type: ignore[arg-type]
    again = await sessions.create_async(params, options={"idempotency_key": "k-1"})  # type: ignore[arg-type]
    other = await sessions.create_async(params, options={"idempotency_key": "k-2"})  # type: ignore[arg-type]

    assert first.id == again.id != other.id
    assert first.id.startswith("cs_test_")
    assert isinstance(first, stripe.checkout.Session)
    assert (first.status, first.payment_status, first.mode) == ("open", "unpaid", "payment")
    assert (first.amount_total, first.currency) == (999, "usd")
    assert first.client_reference_id == "acct_1"
    assert first.metadata.to_dict() == {"top_up_id": "tu_9"}
    assert first.payment_intent is None
    assert first.url == f"{API}/pay/{first.id}"
    assert again.last_response.headers.get("Idempotent-Replayed") == "true"
    fetched = await sessions.retrieve_async(first.id)
    assert fetched.to_dict() == first.to_dict()


async def test_same_idempotency_key_with_other_params_is_an_idempotency_error(h: Harness) -> None:
    sessions = h.sdk.v1.checkout.sessions
    await sessions.create_async(_params(500), options={"idempotency_key": "reused"})
    with pytest.raises(stripe.IdempotencyError) as raised:
        await sessions.create_async(_params(600), options={"idempotency_key": "reused"})
    assert raised.value.http_status == 400
    with pytest.raises(stripe.IdempotencyError):  # same key on another endpoint
        await h.sdk.v1.refunds.create_async({"charge": "ch_x"},
                                            options={"idempotency_key": "reused"})


def _params(unit_amount: int) -> Any:
    return {"mode": "payment", "success_url": "https://app.test/ok",
            "line_items": [{"price_data": {"currency": "usd", "unit_amount": unit_amount,
                                           "product_data": {"name": "Other"}}, "quantity": 1}]}


@pytest.mark.parametrize(
    ("overrides", "param", "code"),
    [
        ({"success_url": None}, "success_url", "parameter_missing"),
        ({"mode": None}, "mode", "parameter_missing"),
        ({"line_items": None}, "line_items", "parameter_missing"),
        ({"line_items": [{"price_data": {"currency": "usd", "unit_amount": 100,
                                         "product_data": {"name": "x"}}}]},
         "line_items[0][quantity]", "parameter_missing"),
        ({"line_items": [{"price_data": {"currency": "usd", "unit_amount": 100,
                                         "product_data": {}}, "quantity": 1}]},
         "line_items[0][price_data][product_data][name]", "parameter_missing"),
        ({"line_items": [{"price_data": {"currency": "usd", "unit_amount": "ten",
                                         "product_data": {"name": "x"}}, "quantity": 1}]},
         "line_items[0][price_data][unit_amount]", "parameter_invalid_integer"),
        ({"line_items": [{"price_data": {"currency": "usd", "unit_amount": 10,
                                         "product_data": {"name": "x"}}, "quantity": 1}]},
         "line_items", "amount_too_small"),
        ({"colour": "blue"}, "colour", "parameter_unknown"),
    ],
)
async def test_invalid_create_params_raise_invalid_request_error(
    h: Harness, overrides: dict[str, Any], param: str, code: str
) -> None:
    with pytest.raises(stripe.InvalidRequestError) as raised:
        await h.new_session(**overrides)
    assert (raised.value.http_status, raised.value.param, raised.value.code) == (400, param, code)
    assert raised.value.json_body is not None
    assert raised.value.json_body["error"]["type"] == "invalid_request_error"


async def test_unknown_session_is_a_404_resource_missing(h: Harness) -> None:
    with pytest.raises(stripe.InvalidRequestError) as raised:
        await h.sdk.v1.checkout.sessions.retrieve_async("cs_test_nope")
    assert (raised.value.http_status, raised.value.code) == (404, "resource_missing")
    assert raised.value.user_message == "No such checkout.session: 'cs_test_nope'"


@pytest.mark.parametrize("key", ["sk_live_realmoney123", "nonsense"])
async def test_bad_api_key_is_an_authentication_error(h: Harness, key: str) -> None:
    client = stripe.StripeClient(
        key, base_addresses={"api": API}, http_client=InProcessHTTPXClient(h.service)
    )
    with pytest.raises(stripe.AuthenticationError) as raised:
        await client.v1.checkout.sessions.retrieve_async("cs_test_x")
    assert raised.value.http_status == 401


async def test_missing_api_key_gets_stripes_401_envelope(h: Harness) -> None:
    response = await h.control.get("/sandbox/stripe/v1/checkout/sessions/cs_test_x")
    assert response.status_code == 401
    assert response.json()["error"]["type"] == "invalid_request_error"
    assert "did not provide an API key" in response.json()["error"]["message"]


async def test_checkout_page_pays_delivers_signed_completed_event_and_redirects(
    h: Harness,
) -> None:
    session = await h.new_session()
    page = await h.control.get(f"/sandbox/stripe/pay/{session.id}")
    assert page.status_code == 200
    assert "Pay</button>" in page.text and "https://app.test/cancel" in page.text

    paid = await h.control.post(f"/sandbox/stripe/pay/{session.id}")

    assert paid.status_code == 303
    assert paid.headers["location"] == f"https://app.test/ok?session={session.id}"
    [event] = h.received
    assert event.type == "checkout.session.completed" and event.id.startswith("evt_")
    obj = event.data.object
    assert (obj.id, obj.object, obj.status, obj.payment_status) == (
        session.id, "checkout.session", "complete", "paid")
    assert (obj.client_reference_id, obj.amount_total, obj.currency, obj.mode) == (
        "acct_42", 3000, "usd", "payment")
    assert obj.metadata.to_dict() == {"top_up_id": "tu_1"}
    assert obj.payment_intent.startswith("pi_")
    again = await h.control.post(f"/sandbox/stripe/pay/{session.id}")
    assert again.status_code == 400 and len(h.received) == 1
    fetched = await h.sdk.v1.checkout.sessions.retrieve_async(
        session.id, {"expand": ["payment_intent"]}
    )
    assert fetched.payment_intent.status == "succeeded"
    assert fetched.payment_intent.metadata.to_dict() == {"top_up_id": "tu_1"}


async def test_signature_is_stripes_scheme_over_the_exact_body(h: Harness) -> None:
    session = await h.new_session()
    await h.ctl("POST", f"/sessions/{session.id}/complete", json={"deliver": False})
    [listed] = (await h.ctl("GET", "/events"))["data"]
    assert listed["delivery_attempts"] == []
    captured: list[httpx.Request] = []

    async def capture(request: httpx.Request) -> httpx.Response:
        captured.append(request)
        return httpx.Response(200)

    # A second twin delivering into a capturing transport shows the raw header and bytes.
    twin = create_app(SandboxContext(BASE, lambda: httpx.AsyncClient(
        transport=httpx.MockTransport(capture)), "", SECRET))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=twin),
                                 base_url=BASE) as other:
        created = await other.post(
            "/v1/checkout/sessions", headers={"Authorization": f"Bearer {KEY}"},
            content=b"mode=payment&success_url=https://a.test/&line_items[0][quantity]=1"
                    b"&line_items[0][price_data][currency]=usd"
                    b"&line_items[0][price_data][unit_amount]=700"
                    b"&line_items[0][price_data][product_data][name]=Pack",
        )
        assert created.status_code == 200, created.text
        await other.post(f"/_control/sessions/{created.json()['id']}/complete")
    [request] = captured
    assert str(request.url) == f"{BASE}/webhooks/stripe"
    header = request.headers["stripe-signature"]
    assert header.startswith("t=") and ",v1=" in header
    event = stripe.Webhook.construct_event(request.content, header, SECRET)
    assert event.type == "checkout.session.completed"
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(request.content, header, "whsec_wrong")


async def test_async_payment_events_can_be_held_and_delivered_in_any_order(h: Harness) -> None:
    session = await h.new_session()
    done = await h.ctl("POST", f"/sessions/{session.id}/complete",
                       json={"async": True, "outcome": "failed", "deliver": False})
    assert h.received == [] and done["deliveries"] == []
    completed_id, failed_id = done["event_ids"]

    result = await h.ctl("POST", "/deliver", json={"event_ids": [failed_id, completed_id]})

    assert [d["status"] for d in result["deliveries"]] == [200, 200]
    assert [(e.id, e.type, e.data.object.payment_status) for e in h.received] == [
        (failed_id, "checkout.session.async_payment_failed", "unpaid"),
        (completed_id, "checkout.session.completed", "unpaid"),
    ]
    intent = await h.sdk.v1.payment_intents.retrieve_async(done["payment_intent"])
    assert intent.status == "requires_payment_method"


async def test_async_success_settles_after_completed(h: Harness) -> None:
    session = await h.new_session()
    done = await h.ctl("POST", f"/sessions/{session.id}/complete",
                       json={"async": True, "outcome": "succeeded"})
    assert [(e.type, e.data.object.payment_status) for e in h.received] == [
        ("checkout.session.completed", "unpaid"),
        ("checkout.session.async_payment_succeeded", "paid"),
    ]
    assert done["session"] == session.id and done["charge"].startswith("ch_")


async def test_expire_emits_expired_and_closes_the_session(h: Harness) -> None:
    session = await h.new_session()
    await h.ctl("POST", f"/sessions/{session.id}/expire", json={})
    [event] = h.received
    assert (event.type, event.data.object.status) == ("checkout.session.expired", "expired")
    response = await h.control.post(f"/sandbox/stripe/_control/sessions/{session.id}/complete")
    assert response.status_code == 400


async def test_refunds_deliver_charge_refunded_with_cumulative_amounts(h: Harness) -> None:
    intent_id, charge_id = await h.paid_charge()
    h.received.clear()

    first = await h.sdk.v1.refunds.create_async(
        {"payment_intent": intent_id, "amount": 1000}, options={"idempotency_key": "rf-1"}
    )
    replay = await h.sdk.v1.refunds.create_async(
        {"payment_intent": intent_id, "amount": 1000}, options={"idempotency_key": "rf-1"}
    )
    rest = await h.sdk.v1.refunds.create_async({"charge": charge_id})

    assert first.id == replay.id and first.id.startswith("re_")
    assert (first.amount, rest.amount, rest.payment_intent) == (1000, 2000, intent_id)
    assert [e.type for e in h.received] == ["charge.refunded", "charge.refunded"]
    charge = h.received[-1].data.object
    assert (charge.id, charge.object, charge.payment_intent) == (charge_id, "charge", intent_id)
    assert (charge.amount_refunded, charge.refunded) == (3000, True)
    assert [r.id for r in charge.refunds.data] == [rest.id, first.id]
    assert charge.metadata.to_dict() == {"top_up_id": "tu_1"}
    assert h.received[0].data.object.amount_refunded == 1000
    assert h.received[0].data.previous_attributes.amount_refunded == 0
    with pytest.raises(stripe.InvalidRequestError) as raised:
        await h.sdk.v1.refunds.create_async({"charge": charge_id})
    assert raised.value.code == "charge_already_refunded"
    with pytest.raises(stripe.InvalidRequestError) as raised:
        await h.sdk.v1.refunds.create_async({})
    assert raised.value.code == "parameter_missing"


async def test_over_refund_is_refused(h: Harness) -> None:
    intent_id, _ = await h.paid_charge()
    with pytest.raises(stripe.InvalidRequestError) as raised:
        await h.sdk.v1.refunds.create_async({"payment_intent": intent_id, "amount": 3001})
    assert (raised.value.param, raised.value.code) == ("amount", "amount_too_large")


async def test_dispute_opens_and_closes(h: Harness) -> None:
    intent_id, charge_id = await h.paid_charge()
    h.received.clear()

    opened = await h.ctl("POST", f"/charges/{charge_id}/dispute", json={"amount": 2500})
    dispute_id = opened["dispute"]
    with pytest.raises(stripe.InvalidRequestError) as raised:
        await h.sdk.v1.refunds.create_async({"charge": charge_id})
    assert raised.value.code == "charge_disputed"
    closed = await h.ctl("POST", f"/disputes/{dispute_id}/close", json={"status": "lost"})

    assert dispute_id.startswith("du_") and closed["event_ids"] != opened["event_ids"]
    assert [e.type for e in h.received] == ["charge.dispute.created", "charge.dispute.closed"]
    created, final = (e.data.object for e in h.received)
    assert (created.object, created.charge, created.payment_intent, created.amount,
            created.status) == ("dispute", charge_id, intent_id, 2500, "needs_response")
    assert final.status == "lost"
    again = await h.control.post(f"/sandbox/stripe/_control/disputes/{dispute_id}/close",
                                 json={"status": "won"})
    assert again.status_code == 400


async def test_redelivery_sends_the_same_event_and_failures_are_recorded(h: Harness) -> None:
    session = await h.new_session()
    h.statuses.extend([500])
    done = await h.ctl("POST", f"/sessions/{session.id}/complete", json={})
    [event_id] = done["event_ids"]
    assert done["deliveries"][0]["status"] == 500

    again = await h.ctl("POST", f"/events/{event_id}/redeliver", json={"times": 2})

    assert [d["status"] for d in again["deliveries"]] == [200, 200]
    assert [e.id for e in h.received] == [event_id] * 3
    assert h.received[0].to_dict() == h.received[2].to_dict()
    listed = await h.ctl("GET", "/events", params={"type": "checkout.session.completed"})
    assert [a["status"] for a in listed["data"][0]["delivery_attempts"]] == [500, 200, 200]
    fetched = await h.sdk.v1.events.retrieve_async(event_id)
    assert fetched.type == "checkout.session.completed"
    missing = await h.control.post("/sandbox/stripe/_control/deliver",
                                   json={"event_ids": ["evt_nope"]})
    assert missing.status_code == 404


async def test_unreachable_webhook_does_not_break_the_sandbox() -> None:
    def broken() -> httpx.AsyncClient:
        def refuse(request: httpx.Request) -> httpx.Response:
            raise httpx.ConnectError("connection refused", request=request)

        return httpx.AsyncClient(transport=httpx.MockTransport(refuse))

    app = create_app(SandboxContext(BASE, broken, "", SECRET))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as c:
        created = await c.post(
            "/v1/checkout/sessions", auth=(KEY, ""),
            data={"mode": "payment", "success_url": "https://a.test/",
                  "line_items[0][quantity]": "1", "line_items[0][price_data][currency]": "usd",
                  "line_items[0][price_data][unit_amount]": "700",
                  "line_items[0][price_data][product_data][name]": "Pack"},
        )
        assert created.status_code == 200, created.text
        done = await c.post(f"/_control/sessions/{created.json()['id']}/complete")
        assert done.status_code == 200
        [delivery] = done.json()["deliveries"]
        assert delivery["status"] is None and "ConnectError" in delivery["error"]
