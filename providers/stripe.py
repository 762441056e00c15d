"""Stripe behind the ``PaymentGateway`` port, through stripe-python's ``StripeClient`` (async).

The SDK's HTTP goes through the service's own httpx client factory, so timeouts and proxies are
configured once and tests route it in-process to the Stripe sandbox
(``base_addresses={"api": STRIPE_API_BASE}``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

import httpx
import stripe

from domain.billing import CheckoutRequest, CheckoutSession, PaymentGatewayError

logger = logging.getLogger(__name__)

TIMEOUT = httpx.Timeout(20.0, connect=5.0)
#: The SDK retries network failures and 409/429/5xx itself; idempotency keys make that safe.
MAX_NETWORK_RETRIES = 2
_RETRYABLE = (stripe.APIConnectionError, stripe.RateLimitError, stripe.APIError)


class _SharedHTTPXClient(stripe.HTTPXClient):
    """stripe-python's httpx adapter on our httpx client, sending bodies as ``content=``.

    Stock ``HTTPXClient`` passes the pre-encoded form body as ``data=<str>``, which httpx 0.28
    deprecates; the bytes on the wire are the same either way.
    """

    def __init__(self, client: httpx.AsyncClient) -> None:
        super().__init__(timeout=TIMEOUT)
        self._client_async = client

    def _get_request_args_kwargs(
        self, method: str, url: str, headers: Mapping[str, str], post_data: Any
    ) -> list[Any]:
        args, kwargs = super()._get_request_args_kwargs(method, url, headers, post_data)
        data = kwargs.pop("data")
        if isinstance(data, str | bytes):
            kwargs["content"] = data
        elif data:
            kwargs["data"] = data
        return [args, kwargs]


class StripeGateway:
    """Creates Checkout Sessions and reads what webhooks leave out; never sees card data."""

    def __init__(
        self,
        *,
        api_key: str,
        api_base: str | None,
        http_client: Callable[[], httpx.AsyncClient],
    ) -> None:
        self._api_key = api_key
        self._api_base = api_base
        self._http_client = http_client
        self._http: httpx.AsyncClient | None = None
        self._sdk: stripe.StripeClient | None = None

    @property
    def _client(self) -> stripe.StripeClient:
        """Opened on first use (inside the app's lifespan), never at construction."""
        if self._sdk is None:
            self._http = self._http_client()
            self._sdk = stripe.StripeClient(
                self._api_key,
                base_addresses={"api": self._api_base} if self._api_base else None,
                http_client=_SharedHTTPXClient(self._http),
                max_network_retries=MAX_NETWORK_RETRIES,
            )
        return self._sdk

    async def aclose(self) -> None:
        """Close the HTTP client if it was ever opened; called when the lifespan ends."""
        if self._http is not None:
            await self._http.aclose()
        self._http, self._sdk = None, None

    async def create_checkout(self, request: CheckoutRequest) -> CheckoutSession:
        metadata = {"top_up_id": str(request.top_up_id), "user_id": str(request.user_id)}
        params: dict[str, Any] = {
            "mode": "payment",
            "line_items": [{
                "quantity": 1,
                "price_data": {
                    "currency": request.currency.lower(),
                    "unit_amount": request.amount_minor,
                    "product_data": {"name": request.description},
                },
            }],
            "client_reference_id": str(request.top_up_id),
            "metadata": metadata,
            "payment_intent_data": {"metadata": metadata, "description": request.description},
            "success_url": request.success_url,
            "cancel_url": request.cancel_url,
        }
        try:
            session = await self._client.v1.checkout.sessions.create_async(
                params,  # type: ignore[arg-type]
                {"idempotency_key": request.idempotency_key},
            )
        except stripe.StripeError as exc:
            raise _gateway_error("checkout.sessions.create", exc) from exc
        return CheckoutSession(id=session.id, url=session.url)

    async def payment_intent_metadata(self, payment_intent_id: str) -> dict[str, str]:
        try:
            intent = await self._client.v1.payment_intents.retrieve_async(payment_intent_id)
        except stripe.InvalidRequestError as exc:
            if exc.http_status == 404:
                return {}
            raise _gateway_error("payment_intents.retrieve", exc) from exc
        except stripe.StripeError as exc:
            raise _gateway_error("payment_intents.retrieve", exc) from exc
        metadata = intent.to_dict().get("metadata") or {}
        return {str(k): str(v) for k, v in metadata.items()}

    async def charge_refunds(self, charge_id: str) -> list[dict[str, object]]:
        try:
            page = await self._client.v1.refunds.list_async({"charge": charge_id, "limit": 100})
        except stripe.StripeError as exc:
            raise _gateway_error("refunds.list", exc) from exc
        return [refund.to_dict() for refund in page.data]


def _gateway_error(operation: str, exc: stripe.StripeError) -> PaymentGatewayError:
    retryable = isinstance(exc, _RETRYABLE)
    logger.warning(
        "stripe call failed",
        extra={
            "operation": operation,
            "error_type": type(exc).__name__,
            "http_status": exc.http_status,
            "stripe_code": exc.code,
            "request_id": exc.request_id,
        },
    )
    return PaymentGatewayError(f"Stripe {operation} failed: {type(exc).__name__}",
                               retryable=retryable)
