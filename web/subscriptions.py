"""The graphql-transport-ws handler with our connection rules.

- Authentication: the access cookie or ``Authorization`` header on the handshake, or a token in
  the ``connection_init`` payload (``{"authorization": "Bearer …"}`` or ``{"accessToken": …}``).
  A connection without a valid one is closed with 4403 at ``connection_init`` (the protocol's
  "Forbidden"); subscribing before ``connection_init`` is closed with 4401 by Strawberry.
- A cap on concurrent operations per connection, answered with a TOO_MANY_SUBSCRIPTIONS error.
- Keep-alive: the server sends a protocol ``ping`` every interval (clients answer ``pong``), so
  idle connections survive proxies, and it re-checks the session: signing out or closing the
  account ends the connection (4403) instead of letting it stream until it drops.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Iterator
from typing import Any

from graphql import ExecutionResult, GraphQLError
from strawberry.extensions import SchemaExtension
from strawberry.http.exceptions import WebSocketDisconnected
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import (
    ConnectionInitMessage,
    SubscribeMessage,
)
from strawberry.types.graphql import OperationType

from domain import live
from resolvers.context import Context
from web.operation_selection import ambiguity, not_selected_error

logger = logging.getLogger("callfluently.ws")

#: How often (at most) a connection's session is looked up again; it is checked at connect, and
#: at every fourth ping when pings are more frequent.
SESSION_RECHECK_S = 60.0


def token_from_params(params: dict[str, Any]) -> str | None:
    """The access token a client put in its ``connection_init`` payload, if any."""
    for key in ("authorization", "Authorization"):
        value = params.get(key)
        if isinstance(value, str) and value.strip():
            scheme, _, rest = value.strip().partition(" ")
            return rest.strip() if scheme.lower() == "bearer" and rest.strip() else value.strip()
    for key in ("accessToken", "access_token", "token"):
        value = params.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


class LiveTransportWSHandler(BaseGraphQLTransportWSHandler[Context, None]):
    """Strawberry's handler plus the subscription cap and server pings."""

    _keepalive: asyncio.Task[None] | None = None

    async def handle_connection_init(self, message: ConnectionInitMessage) -> None:
        await super().handle_connection_init(message)
        if self.connection_acknowledged and self._keepalive is None:
            interval = float(getattr(self.view, "keepalive_s", 0) or 0)
            if interval > 0:
                self._keepalive = asyncio.create_task(self._ping_forever(interval))

    async def handle_subscribe(self, message: SubscribeMessage) -> None:
        cap = getattr(self.view, "subscription_cap", None)
        if (
            self.connection_acknowledged
            and cap is not None
            and message.get("id") not in self.operations
            and len(self.operations) >= cap
        ):
            error = GraphQLError(
                f"At most {cap} subscriptions may run on one connection.",
                extensions={"code": "TOO_MANY_SUBSCRIPTIONS", "limit": cap},
            )
            await self.send_message(
                {"id": message["id"], "type": "error", "payload": [error.formatted]}
            )
            return
        payload = message.get("payload") or {}
        name = payload.get("operationName")
        if self.connection_acknowledged and ambiguity(
            payload.get("query"), name if isinstance(name, str) else None, self.context
        ):
            await self.send_message({"id": message["id"], "type": "error",
                                     "payload": [not_selected_error().formatted]})
            return
        await super().handle_subscribe(message)

    async def shutdown(self) -> None:
        if self._keepalive is not None:
            self._keepalive.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._keepalive
        await super().shutdown()

    async def _ping_forever(self, interval: float) -> None:
        checked = time.monotonic()
        try:
            while True:
                await asyncio.sleep(interval)
                principal = self.context.principal
                if principal is not None and time.monotonic() - checked >= min(
                    SESSION_RECHECK_S, 4 * interval
                ):
                    checked = time.monotonic()
                    if not await live.still_signed_in(principal):
                        logger.info("ws session ended; closing",
                                    extra={"user_id": str(principal.user_id)})
                        await self.websocket.close(code=4403, reason="Forbidden")
                        return
                await self.send_message({"type": "ping"})
        except (WebSocketDisconnected, RuntimeError):  # the socket closed under us
            return


class SubscriptionsOverWebSocket(SchemaExtension):
    """A subscription sent over plain HTTP gets a typed error instead of a masked null."""

    def on_execute(self) -> Iterator[None]:
        ec = self.execution_context
        request = getattr(ec.context, "request", None)
        if (
            ec.operation_type is OperationType.SUBSCRIPTION
            and request is not None
            and request.scope.get("type") == "http"
        ):
            ec.result = ExecutionResult(data=None, errors=[GraphQLError(
                "Subscriptions are served over WebSocket (graphql-transport-ws) at /graphql.",
                extensions={"code": "BAD_USER_INPUT"},
            )])
        yield
