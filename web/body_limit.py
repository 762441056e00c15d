"""A cap on request bodies, answered with 413 and a JSON error before the endpoint reads them.

The body is read here (up to the cap) and replayed to the wrapped app, so a slow or endless
upload is cut off at the cap whether or not it declared a Content-Length.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from web.http_protocol import HttpError, http_error_response, negotiate


class BodyLimit:
    """Wraps an ASGI app (the GraphQL endpoint) with a maximum body size in bytes."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(scope, receive, send, headers)
            return
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await self._refuse(scope, receive, send, headers)
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send,
                      headers: dict[bytes, bytes]) -> None:
        media = negotiate(headers.get(b"accept", b"").decode("latin-1") or None)
        error = HttpError(413, f"The request body is larger than {self.max_bytes} bytes.",
                          maxBytes=self.max_bytes)
        await http_error_response(error, media)(scope, receive, send)
