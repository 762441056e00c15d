"""The GraphQL endpoint: builds the typed context and authenticates each request."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from typing import Any

from starlette.requests import HTTPConnection, Request
from starlette.responses import Response
from starlette.websockets import WebSocket
from strawberry.exceptions import ConnectionRejectionError
from strawberry.types.unset import UnsetType

from domain import api_keys, sessions
from domain.principal import Principal
from domain.sessions import ClientInfo
from observability.logs import bind
from resolvers.context import Context, Services
from web.cookies import ACCESS_COOKIE, REFRESH_COOKIE, AuthCookies
from web.graphql_http import SpecGraphQL
from web.http_protocol import HttpError
from web.subscriptions import LiveTransportWSHandler, token_from_params

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


def client_info(conn: HTTPConnection) -> ClientInfo:
    """IP and user agent of the caller (the proxy, if any, is trusted via uvicorn's settings)."""
    return ClientInfo(
        ip=conn.client.host if conn.client else None,
        user_agent=conn.headers.get("user-agent"),
    )


def inbound_request_id(conn: HTTPConnection) -> str | None:
    """A caller's ``X-Request-Id`` when it is a sane token, to correlate with their logs."""
    value = conn.headers.get("x-request-id", "")
    return value if _REQUEST_ID.match(value) else None


def bearer_token(conn: HTTPConnection) -> str | None:
    header = conn.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return None


class InvalidApiKey(Exception):
    """A ``cfk_`` credential that matches no live key: refused outright, never anonymous."""


async def authenticate(services: Services, conn: HTTPConnection) -> Principal | None:
    """The caller behind the Bearer header (an access token or an API key) or the access cookie."""
    token = bearer_token(conn) or conn.cookies.get(ACCESS_COOKIE)
    if not token:
        return None
    return await principal_for(services, token)


async def principal_for(services: Services, token: str) -> Principal | None:
    """The caller behind an access token or an API key; a dead key raises ``InvalidApiKey``."""
    if api_keys.is_api_key(token):
        principal = await api_keys.authenticate(secret=token, now=services.clock.now())
        if principal is None:
            raise InvalidApiKey
        return principal
    return await sessions.authenticate(
        tokens=services.session_policy.tokens, access_token=token, now=services.clock.now()
    )


class GraphQLApp(SpecGraphQL):
    """Strawberry's ASGI app with our context; GraphiQL is served to browsers on GET.

    WebSocket handshakes from browser origins other than our own and ``ALLOWED_ORIGINS`` are
    refused (403) before anything runs; clients that send no Origin are not browsers and pass.
    """

    graphql_transport_ws_handler_class = LiveTransportWSHandler

    def __init__(self, services: Services, **kwargs: Any) -> None:
        settings = services.settings
        kwargs.setdefault("allowed_origins", settings.allowed_origins)
        # Our handler enforces the cap with a typed error (TOO_MANY_SUBSCRIPTIONS).
        kwargs.setdefault("max_subscriptions_per_connection", None)
        # A socket that never says connection_init holds resources for nothing: close it (4408).
        kwargs.setdefault("connection_init_wait_timeout", timedelta(seconds=10))
        super().__init__(**kwargs)
        self.services = services
        self.subscription_cap: int | None = settings.api.max_subscriptions_per_connection
        self.keepalive_s = settings.ws_keepalive_s
        self.cookies = AuthCookies(
            secure=settings.secure_cookies,
            access_ttl_s=settings.access_token_ttl_s,
            refresh_ttl_s=settings.refresh_token_ttl_s,
        )

    async def get_context(self, request: Request | WebSocket, response: Response | None) -> Context:  # type: ignore[override]
        request_id = inbound_request_id(request) or uuid.uuid4().hex
        bind(request_id=request_id)
        try:
            principal = await authenticate(self.services, request)
        except InvalidApiKey:
            if isinstance(request, WebSocket):
                principal = None  # the connection is then refused at connection_init
            else:
                raise HttpError(401, "This API key is invalid or has been revoked.",
                                headers={"WWW-Authenticate": 'Bearer error="invalid_token"'}
                                ) from None
        if principal is not None:
            bind(user_id=str(principal.user_id),
                 api_key_id=str(principal.api_key_id) if principal.api_key_id else None)
        request.state.request_id = request_id
        return Context(
            services=self.services,
            request=request,
            response=response,
            client=client_info(request),
            principal=principal,
            cookies=self.cookies,
            refresh_cookie=request.cookies.get(REFRESH_COOKIE),
            request_id=request_id,
        )

    async def on_ws_connect(self, context: Context) -> UnsetType | dict[str, object] | None:
        """Accept ``connection_init`` only from a signed-in caller (else close 4403).

        A token in the payload wins over the handshake's cookie or header.
        """
        token = token_from_params(context.connection_params or {})
        if token is not None:
            try:
                context.principal = await principal_for(self.services, token)
            except InvalidApiKey:
                context.principal = None
        if context.principal is None:
            raise ConnectionRejectionError()
        return await super().on_ws_connect(context)
