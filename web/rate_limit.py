"""Rate limiting of GraphQL operations: per learner, per API key and per IP address.

Each operation (over HTTP or WebSocket) takes a token from the caller's buckets
(``domain/rate_limit.py``): the IP's always, plus the API key's for a key or the learner's for a
session. A refusal is the request error ``RATE_LIMITED`` with ``extensions.retryAfterSeconds``
and ``extensions.limit`` (``ip``, ``user`` or ``apiKey``); over HTTP the response also carries a
``Retry-After`` header, with status 429 under ``application/graphql-response+json`` and 200 under
``application/json`` (GraphQL-over-HTTP keeps ``application/json`` responses at 200).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension

from domain.rate_limit import Bucket, Decision
from web.query_limits import add_errors, limits_of

LIMIT_NAMES = {"ip": "ip", "user": "user", "key": "apiKey"}


def buckets_for(context: Any) -> list[Bucket]:
    """The buckets one operation by this caller draws from."""
    limits = limits_of(context)
    client = getattr(context, "client", None)
    buckets = [Bucket.per_minute("ip", getattr(client, "ip", None) or "unknown",
                                 limits.rate_per_minute_ip)]
    principal = getattr(context, "principal", None)
    if principal is not None and principal.api_key_id is not None:
        buckets.append(Bucket.per_minute("key", str(principal.api_key_id),
                                         limits.rate_per_minute_api_key))
    elif principal is not None:
        buckets.append(Bucket.per_minute("user", str(principal.user_id),
                                         limits.rate_per_minute_user))
    return buckets


def rate_limited_error(decision: Decision) -> GraphQLError:
    seconds = decision.retry_after_seconds
    kind = decision.bucket.kind if decision.bucket else "ip"
    return GraphQLError(
        f"Too many requests: try again in {seconds} seconds.",
        extensions={"code": "RATE_LIMITED", "retryAfterSeconds": seconds,
                    "limit": LIMIT_NAMES.get(kind, kind)},
    )


class RateLimit(SchemaExtension):
    """Takes the tokens when the operation starts and reports a refusal after validation."""

    def __init__(self) -> None:
        self.decision: Decision | None = None

    async def on_operation(self) -> AsyncIterator[None]:
        context = self.execution_context.context
        services = getattr(context, "services", None)
        if services is not None and limits_of(context).rate_limit_enabled:
            self.decision = await services.rate_limiter.take(buckets_for(context),
                                                             services.clock.now())
            if not self.decision.allowed and self.decision.bucket is not None:
                services.metrics.rate_limit_refused(self.decision.bucket.kind)
        yield

    def on_validate(self) -> Any:
        if self.decision is not None and not self.decision.allowed:
            add_errors(self.execution_context, rate_limited_error(self.decision), replace=True)
        yield
