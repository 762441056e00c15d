"""Driving billing from the outside: GraphQL for the learner, the Stripe twin for Stripe.

The twin's ``/_control/`` endpoints play the customer and the bank (pay, fail, expire,
dispute) and its v1 API plays the Stripe dashboard (refunds). Every delivery is awaited, so
when a control call returns, our webhook has already answered.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

import httpx

from sandbox.stripe_events import sign_payload
from tests.conftest import gql

STRIPE = "/sandbox/stripe"

CREATE_TOP_UP = """
mutation($amount: Int!) { createTopUp(amountMinor: $amount) {
  __typename
  ... on TopUp { id status amountMinor currency checkoutUrl }
  ... on CreateTopUpError { code field message }
} }"""
TOP_UP = "query($id: ID!) { topUp(id: $id) { id status amountMinor currency checkoutUrl } }"
BALANCE = "{ me { balance { amountMinor currency } } }"
TRANSACTIONS = """
query($first: Int, $after: String) { transactions(first: $first, after: $after) {
  edges { cursor node { kind amountMinor currency balanceAfterMinor reference createdAt } }
  pageInfo { hasNextPage hasPreviousPage endCursor }
} }"""


async def create_top_up(client: httpx.AsyncClient, amount: int) -> dict[str, Any]:
    body = await gql(client, CREATE_TOP_UP, {"amount": amount})
    result: dict[str, Any] = body["data"]["createTopUp"]
    return result


def session_of(top_up: dict[str, Any]) -> str:
    """The Checkout Session id: the twin's checkout page is ``…/pay/<session id>``."""
    url: str = top_up["checkoutUrl"]
    return url.rsplit("/", 1)[1]


async def top_up_status(client: httpx.AsyncClient, top_up_id: str) -> str | None:
    found = (await gql(client, TOP_UP, {"id": top_up_id}))["data"]["topUp"]
    return found["status"] if found else None


async def balance(client: httpx.AsyncClient) -> int:
    me = (await gql(client, BALANCE))["data"]["me"]
    assert me["balance"]["currency"] == "USD"
    amount: int = me["balance"]["amountMinor"]
    return amount


async def entries(client: httpx.AsyncClient) -> list[tuple[str, int, int]]:
    """(kind, amountMinor, balanceAfterMinor) of every ledger entry, oldest first."""
    edges = (await gql(client, TRANSACTIONS, {"first": 100}))["data"]["transactions"]["edges"]
    return [
        (e["node"]["kind"], e["node"]["amountMinor"], e["node"]["balanceAfterMinor"])
        for e in reversed(edges)
    ]


@dataclass
class StripeTwin:
    """The twin's control plane and API, through the same in-process transport as the app."""

    http: httpx.AsyncClient
    api_key: str
    webhook_secret: str

    async def _control(self, path: str, body: dict[str, Any] | None = None) -> Any:
        response = await self.http.post(f"{STRIPE}/_control{path}", json=body or {})
        assert response.status_code == 200, response.text
        return response.json()

    async def complete(self, session: str, **body: Any) -> Any:
        """Pay (``async``/``outcome`` for delayed methods; ``deliver=False`` holds events)."""
        return await self._control(f"/sessions/{session}/complete", body)

    async def expire(self, session: str, **body: Any) -> Any:
        return await self._control(f"/sessions/{session}/expire", body)

    async def dispute(self, charge: str, **body: Any) -> Any:
        return await self._control(f"/charges/{charge}/dispute", body)

    async def close_dispute(self, dispute: str, status: str, **body: Any) -> Any:
        return await self._control(f"/disputes/{dispute}/close", {"status": status, **body})

    async def redeliver(self, event_id: str, times: int = 1) -> list[dict[str, Any]]:
        done = await self._control(f"/events/{event_id}/redeliver", {"times": times})
        deliveries: list[dict[str, Any]] = done["deliveries"]
        return deliveries

    async def deliver(self, *event_ids: str) -> list[dict[str, Any]]:
        done = await self._control("/deliver", {"event_ids": list(event_ids)})
        deliveries: list[dict[str, Any]] = done["deliveries"]
        return deliveries

    async def event(self, event_id: str) -> dict[str, Any]:
        """The event exactly as the twin would send it."""
        response = await self.http.get(f"{STRIPE}/_control/events")
        for event in response.json()["data"]:
            if event["id"] == event_id:
                event.pop("delivery_attempts")
                return dict(event)
        raise AssertionError(f"no event {event_id}")

    async def refund(self, payment_intent: str, amount: int | None = None) -> dict[str, Any]:
        """A refund issued from the dashboard (the twin delivers ``charge.refunded`` at once)."""
        form = {"payment_intent": payment_intent}
        if amount is not None:
            form["amount"] = str(amount)
        response = await self.http.post(
            f"{STRIPE}/v1/refunds", data=form,
            headers={"Authorization": f"Bearer {self.api_key}"},
        )
        assert response.status_code == 200, response.text
        refund: dict[str, Any] = response.json()
        return refund

    async def session(self, session: str) -> dict[str, Any]:
        response = await self.http.get(
            f"{STRIPE}/v1/checkout/sessions/{session}",
            headers={"Authorization": f"Bearer {self.api_key}"},
        )
        assert response.status_code == 200, response.text
        found: dict[str, Any] = response.json()
        return found


async def post_webhook(
    http: httpx.AsyncClient,
    event: dict[str, Any],
    *,
    secret: str,
    timestamp: int | None = None,
    body: str | None = None,
) -> httpx.Response:
    """Sign ``event`` like Stripe (or not quite, to test refusals) and post it to us."""
    payload = json.dumps(event)
    signature = sign_payload(payload, secret, int(time.time()) if timestamp is None else timestamp)
    return await http.post(
        "/webhooks/stripe",
        content=(body if body is not None else payload).encode(),
        headers={"Stripe-Signature": signature, "Content-Type": "application/json"},
    )
