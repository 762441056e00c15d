"""Local Stripe twin: the slice of Stripe's v1 API we use, a checkout page, and test controls.

It speaks the wire format stripe-python sends and parses (form-encoded bodies with bracket
nesting, bearer keys, ``Idempotency-Key``, Stripe's JSON objects and error envelope), so the
real SDK runs against it unmodified via ``base_addresses={"api": ".../sandbox/stripe"}``.
Webhooks are signed with the service's secret exactly as Stripe signs them, so the production
verification path is exercised too. State lives in ``sandbox.stripe_events``.
"""

from __future__ import annotations

import base64
import binascii
import html
import json
import re
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from sandbox import SandboxContext
from sandbox.stripe_events import (
    API_VERSION,
    JSON,
    MINIMUM_CHARGE,
    NewSession,
    Outcome,
    StripeError,
    StripeLedger,
    new_id,
    no_such,
    now,
)

__all__ = ["create_app"]

_KEY = re.compile(r"(?:sk|rk)_test_[A-Za-z0-9_]{6,}")
_PARAM_NAME = re.compile(r"([^\[\]]+)((?:\[[^\[\]]*\])*)")
_NO_KEY = (
    "You did not provide an API key. You need to provide your API key in the Authorization "
    "header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY'). See "
    "https://stripe.com/docs/api#authentication for details."
)
_SESSION_PARAMS = frozenset({
    "adaptive_pricing", "after_expiration", "allow_promotion_codes",
    "allowed_payment_method_types", "automatic_tax", "billing_address_collection",
    "branding_settings", "cancel_url", "client_reference_id", "consent_collection", "currency",
    "custom_fields", "custom_text", "customer", "customer_account", "customer_creation",
    "customer_email", "customer_update", "discounts", "excluded_payment_method_types", "expand",
    "expires_at", "integration_identifier", "invoice_creation", "line_items", "locale",
    "managed_payments", "metadata", "mode", "name_collection", "optional_items", "origin_context",
    "payment_intent_data", "payment_method_collection", "payment_method_configuration",
    "payment_method_data", "payment_method_options", "permissions", "phone_number_collection",
    "redirect_on_completion", "return_url", "saved_payment_method_options", "setup_intent_data",
    "shipping_address_collection", "shipping_options", "submit_type", "subscription_data",
    "success_url", "tax_id_collection", "ui_mode", "wallet_options"
})
_LINE_ITEM_PARAMS = frozenset({"adjustable_quantity", "metadata", "price", "price_data",
                               "quantity", "tax_rates"})
_PRICE_DATA_PARAMS = frozenset({"currency", "product", "product_data", "recurring",
                                "tax_behavior", "unit_amount", "unit_amount_decimal"})
_PRODUCT_DATA_PARAMS = frozenset({"description", "images", "metadata", "name", "tax_code",
                                  "tax_details", "unit_label"})
_REFUND_PARAMS = frozenset({"amount", "charge", "currency", "customer", "expand",
                            "instructions_email", "metadata", "origin", "payment_intent",
                            "reason", "refund_application_fee", "reverse_transfer"})
_REFUND_REASONS = frozenset({"duplicate", "fraudulent", "requested_by_customer"})

#: A v1 endpoint body: decoded params and the request's identity in, an outcome out.
_Action = Callable[[JSON, JSON], Outcome]


# -- wire format -------------------------------------------------------------------------


def decode_params(pairs: Iterable[tuple[str, str]]) -> JSON:
    """Rebuild nested params from Stripe's bracket form (``a[b][0][c]=v``, ``expand[]=v``)."""
    root: JSON = {}
    for name, value in pairs:
        match = _PARAM_NAME.fullmatch(name)
        if match is None:
            raise StripeError(400, f"Invalid parameter name: {name}", param=name)
        parts = [match.group(1), *re.findall(r"\[([^\[\]]*)\]", match.group(2))]
        node = root
        for depth, part in enumerate(parts[:-1]):
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise StripeError(400, "Invalid object", param=_path(parts[: depth + 1]))
            node = child
        last = parts[-1] or str(len(node))
        if isinstance(node.get(last), dict):
            raise StripeError(400, "Invalid object", param=_path(parts))
        node[last] = value
    return {key: _listify(value, key) for key, value in root.items()}


def _path(parts: list[str]) -> str:
    return parts[0] + "".join(f"[{part}]" for part in parts[1:])


def _listify(value: Any, param: str) -> Any:
    """Index-keyed hashes are arrays; metadata stays a hash whatever its keys look like."""
    if not isinstance(value, dict) or param == "metadata" or param.endswith("[metadata]"):
        return value
    items = {key: _listify(item, f"{param}[{key}]") for key, item in value.items()}
    if items and all(key.isdigit() for key in items):
        if sorted(int(key) for key in items) != list(range(len(items))):
            raise StripeError(400, "Invalid array", param=param)
        return [items[key] for key in sorted(items, key=int)]
    return items


def _dump(body: JSON) -> bytes:
    return json.dumps(body, indent=2).encode()


def _authenticate(request: Request) -> str:
    """Accept test-mode keys by Bearer or Basic auth, as Stripe does; refuse anything else."""
    scheme, _, credential = request.headers.get("authorization", "").partition(" ")
    credential = credential.strip()
    if scheme.lower() == "basic":
        try:
            credential = base64.b64decode(credential).decode().partition(":")[0]
        except (binascii.Error, UnicodeDecodeError):
            credential = ""
    elif scheme.lower() != "bearer":
        credential = ""
    if not credential:
        raise StripeError(401, _NO_KEY)
    if not _KEY.fullmatch(credential):
        shown = credential[:8] + "*" * max(len(credential) - 12, 0) + credential[-4:]
        raise StripeError(401, f"Invalid API Key provided: {shown}", code="api_key_invalid")
    return credential


# -- param validation --------------------------------------------------------------------


def _join(prefix: str, key: str) -> str:
    return f"{prefix}[{key}]" if prefix else key


def _only(params: JSON, allowed: frozenset[str], prefix: str = "") -> None:
    for key in params:
        if key not in allowed:
            name = _join(prefix, key)
            raise StripeError(
                400, f"Received unknown parameter: {name}", param=name, code="parameter_unknown"
            )


def _string(params: JSON, key: str, prefix: str = "", *, required: bool = False) -> str | None:
    name, value = _join(prefix, key), params.get(key)
    if value is None or (value == "" and not required):
        if required:
            raise StripeError(
                400, f"Missing required param: {name}.", param=name, code="parameter_missing"
            )
        return None
    if not isinstance(value, str):
        raise StripeError(400, f"Invalid string: {name}", param=name)
    if not value:
        raise StripeError(
            400,
            f"You passed an empty string for '{name}'. We assume empty values are an attempt to "
            f"unset a parameter; however '{name}' cannot be unset.",
            param=name,
            code="parameter_invalid_empty",
        )
    return value


def _integer(params: JSON, key: str, prefix: str = "", *, minimum: int = 0) -> int | None:
    text = _string(params, key, prefix)
    name = _join(prefix, key)
    if text is None:
        return None
    if not re.fullmatch(r"-?\d+", text):
        raise StripeError(
            400, f"Invalid integer: {text}", param=name, code="parameter_invalid_integer"
        )
    if int(text) < minimum:
        raise StripeError(
            400, f"This value must be greater than or equal to {minimum}.", param=name
        )
    return int(text)


def _hash(params: JSON, key: str, prefix: str = "") -> JSON:
    value = params.get(key, {})
    if value == "":
        return {}
    if not isinstance(value, dict):
        raise StripeError(400, "Invalid object", param=_join(prefix, key))
    return value


def _metadata(params: JSON, key: str = "metadata", prefix: str = "") -> dict[str, str]:
    """Stripe's limits: 50 keys, keys up to 40 characters, string values up to 500."""
    name = _join(prefix, key)
    metadata = _hash(params, key, prefix)
    if len(metadata) > 50:
        raise StripeError(400, "Metadata can have at most 50 keys.", param=name)
    for meta_key, meta_value in metadata.items():
        if len(meta_key) > 40 or not isinstance(meta_value, str) or len(meta_value) > 500:
            raise StripeError(400, f"Invalid metadata value for '{meta_key}'.", param=name)
    return dict(metadata)


def _expand(params: JSON, allowed: frozenset[str]) -> list[str]:
    value = params.get("expand", [])
    expand = [value] if isinstance(value, str) else value
    if not isinstance(expand, list):
        raise StripeError(400, "Invalid array", param="expand")
    for item in expand:
        if item not in allowed:
            raise StripeError(400, f"This property cannot be expanded ({item}).", param="expand")
    return [str(item) for item in expand]


def _line_item(item: Any, prefix: str) -> tuple[str, int, JSON]:
    """Validate one inline-priced line item; returns currency, line total and the item object."""
    if not isinstance(item, dict):
        raise StripeError(400, "Invalid object", param=prefix)
    _only(item, _LINE_ITEM_PARAMS, prefix)
    price_id = _string(item, "price", prefix)
    if price_id is not None:  # the twin has no catalogue of Price objects
        raise no_such("price", price_id, param=f"{prefix}[price]", status=400)
    if "price_data" not in item:
        raise StripeError(
            400, f"Missing required param: {prefix}[price_data].",
            param=f"{prefix}[price_data]", code="parameter_missing",
        )
    data_prefix = f"{prefix}[price_data]"
    price_data = _hash(item, "price_data", prefix)
    _only(price_data, _PRICE_DATA_PARAMS, data_prefix)
    currency = str(_string(price_data, "currency", data_prefix, required=True)).lower()
    if not re.fullmatch(r"[a-z]{3}", currency):
        raise StripeError(400, f"Invalid currency: {currency}", param=f"{data_prefix}[currency]")
    if "recurring" in price_data:
        raise StripeError(400, "Recurring prices need mode=subscription.", param="mode")
    product_prefix = f"{data_prefix}[product_data]"
    product = _hash(price_data, "product_data", data_prefix)
    _only(product, _PRODUCT_DATA_PARAMS, product_prefix)
    name = str(_string(product, "name", product_prefix, required=True))
    quantity = _integer(item, "quantity", prefix, minimum=1)
    if quantity is None:
        raise StripeError(
            400, f"Missing required param: {prefix}[quantity].",
            param=f"{prefix}[quantity]", code="parameter_missing",
        )
    unit_amount = _integer(price_data, "unit_amount", data_prefix)
    decimal_text = _string(price_data, "unit_amount_decimal", data_prefix)
    if (unit_amount is None) == (decimal_text is None):
        raise StripeError(
            400, "Exactly one of unit_amount or unit_amount_decimal is required.",
            param=f"{data_prefix}[unit_amount]",
        )
    if unit_amount is not None:
        total = unit_amount * quantity
    else:
        try:
            exact = Decimal(str(decimal_text)) * quantity
        except InvalidOperation:
            raise StripeError(
                400, f"Invalid decimal: {decimal_text}",
                param=f"{data_prefix}[unit_amount_decimal]",
            ) from None
        total = int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))
    price: JSON = {
        "id": new_id("price_"), "object": "price", "currency": currency,
        "product": new_id("prod_"), "unit_amount": unit_amount,
        "unit_amount_decimal": decimal_text or str(unit_amount), "type": "one_time",
    }
    line: JSON = {
        "id": new_id("li_"), "object": "item", "amount_subtotal": total,
        "amount_total": total, "currency": currency, "description": name,
        "price": price, "quantity": quantity,
    }
    return currency, total, line


def _new_session(params: JSON) -> NewSession:
    """Validate ``POST /v1/checkout/sessions`` as Stripe would for hosted payment mode."""
    _only(params, _SESSION_PARAMS)
    mode = _string(params, "mode", required=True)
    if mode not in {"payment", "setup", "subscription"}:
        raise StripeError(400, f"Invalid mode: {mode}", param="mode")
    if mode != "payment":
        raise StripeError(400, "The Stripe sandbox only models mode=payment.", param="mode")
    if _string(params, "ui_mode") not in {None, "hosted_page"}:
        raise StripeError(400, "The Stripe sandbox only models ui_mode=hosted_page.",
                          param="ui_mode")
    items = params.get("line_items")
    if not isinstance(items, list) or not items:
        raise StripeError(
            400, "`line_items` is required in `payment` mode.",
            param="line_items", code="parameter_missing",
        )
    checked = [_line_item(item, f"line_items[{index}]") for index, item in enumerate(items)]
    currencies = {currency for currency, _, _ in checked}
    if len(currencies) > 1:
        raise StripeError(400, "All line items must use the same currency.", param="line_items")
    currency, amount_total = currencies.pop(), sum(total for _, total, _ in checked)
    minimum = MINIMUM_CHARGE.get(currency, 1)
    if amount_total < minimum:
        raise StripeError(
            400,
            f"The Checkout Session's total amount due must add up to at least {minimum} "
            f"(smallest unit of {currency}).",
            param="line_items",
            code="amount_too_small",
        )
    expires_at = _integer(params, "expires_at")
    if expires_at is not None and not now() + 1800 <= expires_at <= now() + 86400:
        raise StripeError(
            400, "expires_at must be between 30 minutes and 24 hours from now.",
            param="expires_at",
        )
    intent_data = _hash(params, "payment_intent_data")
    return NewSession(
        currency=currency,
        amount_total=amount_total,
        line_items=[line for _, _, line in checked],
        success_url=str(_string(params, "success_url", required=True)),
        cancel_url=_string(params, "cancel_url"),
        client_reference_id=_string(params, "client_reference_id"),
        customer_email=_string(params, "customer_email"),
        metadata=_metadata(params),
        payment_intent_metadata=_metadata(intent_data, prefix="payment_intent_data"),
        payment_intent_description=_string(intent_data, "description", "payment_intent_data"),
        expires_at=expires_at,
    )


# -- the app -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Saved:
    """A response kept under an idempotency key, with what it answered, for replay checks."""

    endpoint: str
    params: JSON
    body: bytes


class _StripeTwin:
    """Endpoints over one ledger; each ``create_app`` builds its own, so state never leaks."""

    def __init__(self, ctx: SandboxContext) -> None:
        self.ledger = StripeLedger(ctx)
        self._saved: dict[tuple[str, str], _Saved] = {}

    # -- v1 API plumbing ---------------------------------------------------------------

    async def _call(self, request: Request, action: _Action) -> Response:
        """Auth, params, idempotency, the action, then delivery of the events it emitted."""
        headers = {
            "Request-Id": new_id("req_", 14),
            "Stripe-Version": request.headers.get("stripe-version", API_VERSION),
        }
        try:
            api_key = _authenticate(request)
            posted = request.method == "POST"
            query = (await request.body()).decode(errors="replace") if posted else request.url.query
            params = decode_params(parse_qsl(query, keep_blank_values=True))
            key = request.headers.get("idempotency-key") if posted else None
            endpoint = f"{request.method} {request.url.path}"
            if key:
                headers["Idempotency-Key"] = key
                saved = self._saved.get((api_key, key))
                if saved is not None:
                    return self._replay(saved, endpoint, params, key, headers)
            outcome = action(params, {"id": headers["Request-Id"], "idempotency_key": key})
        except StripeError as error:
            return Response(_dump(error.body()), error.status, headers, "application/json")
        body = _dump(outcome.object)
        if key:  # Stripe saves only requests that got as far as executing
            self._saved[(api_key, key)] = _Saved(endpoint, params, body)
        await self.ledger.deliver(outcome.event_ids)
        return Response(body, 200, headers, "application/json")

    @staticmethod
    def _replay(
        saved: _Saved, endpoint: str, params: JSON, key: str, headers: dict[str, str]
    ) -> Response:
        if saved.endpoint != endpoint:
            raise StripeError(
                400,
                "Keys for idempotent requests can only be used for the same endpoint they were "
                f"first used for ('{saved.endpoint}'). Try using a key other than '{key}' if you "
                "meant to execute a different request.",
                kind="idempotency_error",
            )
        if saved.params != params:
            raise StripeError(
                400,
                "Keys for idempotent requests can only be used with the same parameters they "
                f"were first used with. Try using a key other than '{key}' if you meant to "
                "execute a different request.",
                kind="idempotency_error",
            )
        return Response(
            saved.body, 200, {**headers, "Idempotent-Replayed": "true"}, "application/json"
        )

    def _session_view(self, session: JSON, expand: list[str]) -> JSON:
        view = dict(session)
        if "payment_intent" in expand and session["payment_intent"]:
            view["payment_intent"] = self.ledger.payment_intents[session["payment_intent"]]
        if "line_items" in expand:
            items = self.ledger.line_items[session["id"]]
            view["line_items"] = {"object": "list", "data": items, "has_more": False,
                                  "url": f"/v1/checkout/sessions/{session['id']}/line_items"}
        return view

    # -- v1 endpoints -------------------------------------------------------------------

    async def create_session(self, request: Request) -> Response:
        def action(params: JSON, _: JSON) -> Outcome:
            expand = _expand(params, frozenset({"payment_intent", "line_items"}))
            session = self.ledger.create_session(_new_session(params))
            return Outcome(self._session_view(session, expand), [])

        return await self._call(request, action)

    async def get_session(self, request: Request) -> Response:
        def action(params: JSON, _: JSON) -> Outcome:
            _only(params, frozenset({"expand"}))
            expand = _expand(params, frozenset({"payment_intent", "line_items"}))
            session = self.ledger.session(request.path_params["session_id"])
            return Outcome(self._session_view(session, expand), [])

        return await self._call(request, action)

    async def expire_session(self, request: Request) -> Response:
        def action(params: JSON, _: JSON) -> Outcome:
            _only(params, frozenset({"expand"}))
            return self.ledger.expire_session(request.path_params["session_id"])

        return await self._call(request, action)

    async def create_refund(self, request: Request) -> Response:
        def action(params: JSON, call: JSON) -> Outcome:
            _only(params, _REFUND_PARAMS)
            charge, intent = _string(params, "charge"), _string(params, "payment_intent")
            if charge is None and intent is None:
                raise StripeError(
                    400, "One of `charge` or `payment_intent` is required.",
                    param="charge", code="parameter_missing",
                )
            reason = _string(params, "reason")
            if reason is not None and reason not in _REFUND_REASONS:
                raise StripeError(400, f"Invalid reason: {reason}", param="reason")
            return self.ledger.refund(
                charge_id=charge, intent_id=intent, amount=_integer(params, "amount", minimum=1),
                reason=reason, metadata=_metadata(params), request=call,
            )

        return await self._call(request, action)

    async def get_object(self, request: Request) -> Response:
        """``GET /v1/{payment_intents,charges,refunds,disputes,events}/{id}``."""
        collection, object_id = request.path_params["collection"], request.path_params["id"]

        def action(params: JSON, _: JSON) -> Outcome:
            if collection == "events":
                _only(params, frozenset({"expand"}))
                return Outcome(self.ledger.event(object_id).event, [])
            stores = {
                "payment_intents": ("payment_intent", self.ledger.payment_intents),
                "charges": ("charge", self.ledger.charges),
                "refunds": ("refund", self.ledger.refunds),
                "disputes": ("dispute", self.ledger.disputes),
            }
            if collection not in stores:
                raise _unrecognized(request)
            _only(params, frozenset({"expand"}))
            kind, store = stores[collection]
            if object_id not in store:
                raise no_such(kind, object_id, param="id")
            return Outcome(store[object_id], [])

        return await self._call(request, action)

    async def unknown_url(self, request: Request) -> Response:
        def action(params: JSON, _: JSON) -> Outcome:
            raise _unrecognized(request)

        return await self._call(request, action)

    # -- hosted checkout page ------------------------------------------------------------

    async def checkout_page(self, request: Request) -> Response:
        """A one-button stand-in for checkout.stripe.com, so demos can click through."""
        session = self.ledger.sessions.get(request.path_params["session_id"])
        if session is None:
            return HTMLResponse(_page("Checkout not found", "<p>No such session.</p>"), 404)
        if session["status"] != "open":
            return HTMLResponse(_page("Checkout closed", f"<p>This session is "
                                      f"{html.escape(session['status'])}.</p>"), 410)
        rows = "".join(
            f"<li>{html.escape(str(item['description']))} x {item['quantity']}: "
            f"{item['amount_total'] / 100:.2f} {session['currency'].upper()}</li>"
            for item in self.ledger.line_items[session["id"]]
        )
        cancel = session["cancel_url"]
        cancel_link = f' <a href="{html.escape(cancel)}">Cancel</a>' if cancel else ""
        body = (
            f"<ul>{rows}</ul><p>Total: {session['amount_total'] / 100:.2f} "
            f"{session['currency'].upper()}</p><form method=\"post\">"
            f"<button type=\"submit\">Pay</button>{cancel_link}</form>"
        )
        return HTMLResponse(_page("Sandbox checkout", body))

    async def pay(self, request: Request) -> Response:
        """The customer pays by card: complete, deliver the webhook, go to ``success_url``."""
        session_id = request.path_params["session_id"]
        try:
            outcome = self.ledger.complete_session(session_id, async_payment=False,
                                                   outcome="succeeded")
        except StripeError as error:
            return HTMLResponse(_page("Checkout closed", html.escape(error.message)),
                                error.status)
        await self.ledger.deliver(outcome.event_ids)
        target = outcome.object["success_url"].replace("{CHECKOUT_SESSION_ID}", session_id)
        return RedirectResponse(target, status_code=303)

    # -- control plane -------------------------------------------------------------------

    async def _control(
        self, request: Request, action: Callable[[JSON], Awaitable[JSON]]
    ) -> Response:
        """JSON object in, JSON out, errors in Stripe's envelope (an empty body means ``{}``)."""
        try:
            raw = await request.body()
            try:
                body = json.loads(raw) if raw.strip() else {}
            except json.JSONDecodeError:
                raise StripeError(400, "The control body is not valid JSON.") from None
            if not isinstance(body, dict):
                raise StripeError(400, "The control body must be a JSON object.")
            return _json(await action(body))
        except StripeError as error:
            return _json(error.body(), error.status)

    async def _report(self, body: JSON, result: Outcome) -> JSON:
        """Deliver what a transition emitted unless ``"deliver": false``; name every id made."""
        held = body.get("deliver", True) is False
        deliveries = [] if held else await self.ledger.deliver(result.event_ids)
        named = {"checkout.session": "session", "dispute": "dispute"}[result.object["object"]]
        return {
            named: result.object["id"],
            "object": result.object,
            "event_ids": result.event_ids,
            "payment_intent": result.payment_intent,
            "charge": result.charge,
            "deliveries": deliveries,
        }

    async def control_complete(self, request: Request) -> Response:
        async def action(body: JSON) -> JSON:
            async_payment = body.get("async", False)
            outcome = body.get("outcome", "succeeded")
            if not isinstance(async_payment, bool) or outcome not in {"succeeded", "failed"}:
                raise StripeError(400, '"async" must be a bool, "outcome" succeeded|failed.')
            if outcome == "failed" and not async_payment:
                raise StripeError(400, "Card payments fail inside Checkout; use async=true.")
            return await self._report(body, self.ledger.complete_session(
                request.path_params["session_id"], async_payment=async_payment, outcome=outcome
            ))

        return await self._control(request, action)

    async def control_expire(self, request: Request) -> Response:
        async def action(body: JSON) -> JSON:
            session_id = request.path_params["session_id"]
            return await self._report(body, self.ledger.expire_session(session_id))

        return await self._control(request, action)

    async def control_dispute(self, request: Request) -> Response:
        async def action(body: JSON) -> JSON:
            amount = body.get("amount")
            if amount is not None and (not isinstance(amount, int) or isinstance(amount, bool)):
                raise StripeError(400, '"amount" must be an integer.', param="amount")
            charge_id = request.path_params["charge_id"]
            return await self._report(body, self.ledger.open_dispute(charge_id, amount))

        return await self._control(request, action)

    async def control_close_dispute(self, request: Request) -> Response:
        async def action(body: JSON) -> JSON:
            status = body.get("status")
            if status not in {"won", "lost"}:
                raise StripeError(400, '"status" must be "won" or "lost".', param="status")
            dispute_id = request.path_params["dispute_id"]
            return await self._report(body, self.ledger.close_dispute(dispute_id, str(status)))

        return await self._control(request, action)

    async def control_redeliver(self, request: Request) -> Response:
        async def action(body: JSON) -> JSON:
            times = body.get("times", 1)
            if not isinstance(times, int) or isinstance(times, bool) or not 1 <= times <= 100:
                raise StripeError(400, '"times" must be an integer from 1 to 100.')
            event_id = request.path_params["event_id"]
            return {"event_id": event_id,
                    "deliveries": await self.ledger.deliver([event_id] * times)}

        return await self._control(request, action)

    async def control_deliver(self, request: Request) -> Response:
        async def action(body: JSON) -> JSON:
            event_ids = body.get("event_ids")
            if not isinstance(event_ids, list) or not all(isinstance(e, str) for e in event_ids):
                raise StripeError(400, '"event_ids" must be a list of event ids.')
            return {"deliveries": await self.ledger.deliver(event_ids)}

        return await self._control(request, action)

    async def control_events(self, request: Request) -> Response:
        """Every event so far, oldest first; ``?type=`` filters by event type."""
        wanted = request.query_params.get("type")
        data = [
            {**stored.event, "delivery_attempts": stored.delivery_attempts}
            for stored in self.ledger.events.values()
            if wanted is None or stored.event["type"] == wanted
        ]
        return _json({"object": "list", "data": data})


def _unrecognized(request: Request) -> StripeError:
    return StripeError(404, f"Unrecognized request URL ({request.method}: {request.url.path}).")


def _json(body: JSON, status: int = 200) -> Response:
    return Response(_dump(body), status, media_type="application/json")


def _page(title: str, body: str) -> str:
    return (
        f"<!doctype html><html><head><meta charset=\"utf-8\"><title>{html.escape(title)}"
        f"</title></head><body><h1>{html.escape(title)}</h1>{body}</body></html>"
    )


def create_app(ctx: SandboxContext) -> Starlette:
    """Build an independent Stripe twin; mount it at ``/sandbox/stripe``."""
    twin = _StripeTwin(ctx)
    routes = [
        Route("/v1/checkout/sessions", twin.create_session, methods=["POST"]),
        Route("/v1/checkout/sessions/{session_id}", twin.get_session, methods=["GET"]),
        Route("/v1/checkout/sessions/{session_id}/expire", twin.expire_session,
              methods=["POST"]),
        Route("/v1/refunds", twin.create_refund, methods=["POST"]),
        Route("/v1/{collection}/{id}", twin.get_object, methods=["GET"]),
        Route("/v1/{rest:path}", twin.unknown_url, methods=["GET", "POST", "DELETE"]),
        Route("/pay/{session_id}", twin.checkout_page, methods=["GET"]),
        Route("/pay/{session_id}", twin.pay, methods=["POST"]),
        Route("/_control/sessions/{session_id}/complete", twin.control_complete,
              methods=["POST"]),
        Route("/_control/sessions/{session_id}/expire", twin.control_expire, methods=["POST"]),
        Route("/_control/charges/{charge_id}/dispute", twin.control_dispute, methods=["POST"]),
        Route("/_control/disputes/{dispute_id}/close", twin.control_close_dispute,
              methods=["POST"]),
        Route("/_control/events", twin.control_events, methods=["GET"]),
        Route("/_control/events/{event_id}/redeliver", twin.control_redeliver,
              methods=["POST"]),
        Route("/_control/deliver", twin.control_deliver, methods=["POST"]),
    ]
    return Starlette(routes=routes)
