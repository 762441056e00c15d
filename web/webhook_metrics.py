"""Counts every webhook delivery by provider and outcome, whatever the provider's handler.

``/webhooks/<provider>`` answers decide the outcome: 2xx ``accepted`` (processed, duplicate or
ignored: providers only see success), 401/403 ``rejected`` (signature), other 4xx ``invalid``,
5xx ``failed`` (ours: the provider will retry). Handlers need not record anything themselves.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from observability.metrics import Metrics

PREFIX = "/webhooks/"


def outcome(status: int) -> str:
    if 200 <= status < 300:
        return "accepted"
    if status in (401, 403):
        return "rejected"
    if 400 <= status < 500:
        return "invalid"
    return "failed"


class WebhookMetrics:
    """Pure ASGI middleware; passes everything else through untouched."""

    def __init__(self, app: ASGIApp, metrics: Metrics, providers: tuple[str, ...]) -> None:
        self.app = app
        self.metrics = metrics
        self.providers = frozenset(providers)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if not path.startswith(PREFIX):
            await self.app(scope, receive, send)
            return
        provider = path[len(PREFIX):].split("/", 1)[0]
        if provider not in self.providers:
            provider = "other"  # paths come from anyone: keep the label set bounded
        status = 500

        async def observed(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, observed)
        finally:
            self.metrics.webhook_delivery(provider, outcome(status))
