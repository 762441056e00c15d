"""WebSocket connections to GraphQL skip the HTTP middleware stack.

A graphql-transport-ws connection lives for hours, and every ASGI layer it passes through stays
suspended for that long with its frame, its wrapped ``send``/``receive`` closures and, for the
OAuth session middleware, a parsed cookie and a request object: ~5 KB per idle subscriber
(bench/README.md, fan-out memory). None of those layers does anything for it: the webhook
metrics and the OAuth state cookie are HTTP concerns, and the error middlewares only answer
HTTP requests. So ``websocket`` scopes for the listed paths go straight to their app; every
other request takes the normal route through the middleware.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.applications import Starlette
from starlette.types import ASGIApp, Receive, Scope, Send


class DirectWebSocketStarlette(Starlette):
    """``Starlette`` whose WebSocket connections to ``direct_websockets`` paths bypass it."""

    def __init__(self, *, direct_websockets: Mapping[str, ASGIApp], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._direct_websockets = dict(direct_websockets)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            path: str = scope.get("path", "")
            root = scope.get("root_path", "")
            if root and path.startswith(root):
                path = path[len(root):]
            target = self._direct_websockets.get(path)
            if target is not None:
                scope["app"] = self
                await target(scope, receive, send)
                return
        await super().__call__(scope, receive, send)
