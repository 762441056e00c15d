"""Sends an httpx2-based SDK's requests (anthropic, authlib) through our httpx client factory.

One outbound HTTP stack for every provider means timeouts, proxies and, in tests, the in-process
route to the sandboxes are configured once. The request's own timeout (the SDK's) is kept.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import httpx2

HttpClientFactory = Callable[[], httpx.AsyncClient]
HOP_HEADERS = frozenset({b"content-encoding", b"content-length", b"transfer-encoding"})


def _timeout(request: httpx2.Request) -> httpx.Timeout | None:
    """The SDK's per-request timeout, in httpx's terms (None: the factory's default)."""
    spec = request.extensions.get("timeout")
    if not isinstance(spec, dict):
        return None
    return httpx.Timeout(
        connect=spec.get("connect"), read=spec.get("read"), write=spec.get("write"),
        pool=spec.get("pool"),
    )


class HttpxBridgeTransport(httpx2.AsyncBaseTransport):
    """An httpx2 transport that forwards each request through a fresh client of the factory."""

    def __init__(self, client_factory: HttpClientFactory) -> None:
        self._client_factory = client_factory

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        body = await request.aread()
        timeout = _timeout(request)
        extra: dict[str, Any] = {"timeout": timeout} if timeout is not None else {}
        try:
            async with self._client_factory() as client:
                response = await client.request(
                    request.method,
                    str(request.url),
                    headers=request.headers.raw,
                    content=body,
                    **extra,
                )
        # The SDK classifies failures by httpx2's exception types: translate ours.
        except httpx.TimeoutException as exc:
            raise httpx2.ReadTimeout(str(exc), request=request) from exc
        except httpx.TransportError as exc:
            raise httpx2.ConnectError(str(exc), request=request) from exc
        headers = [(k, v) for k, v in response.headers.raw if k.lower() not in HOP_HEADERS]
        return httpx2.Response(response.status_code, headers=headers, content=response.content)
