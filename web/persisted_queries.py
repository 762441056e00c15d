"""Apollo automatic persisted queries over GET and POST, and the allow-list check.

The APQ exchange (``extensions.persistedQuery = {"version": 1, "sha256Hash": ...}``):

1. The client sends only the hash. A known hash (the registry, then the cache) runs its
   document; an unknown one answers the request error ``PersistedQueryNotFound`` with
   ``extensions.code = PERSISTED_QUERY_NOT_FOUND``.
2. The client sends the document and the hash. The hash must be the SHA-256 of the document
   (else 400); the document runs and, if it parsed and validated, is cached for next time.

Allow-list mode: production API keys (and every caller when PERSISTED_QUERIES_ONLY is set) may
run only documents in the admin-managed registry; anything else is the request error
``PERSISTED_QUERY_NOT_ALLOWED``, checked over HTTP and WebSocket alike.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension

from domain import persisted_queries
from domain.persisted_queries import QueryCache, sha256_hex
from web.http_protocol import HttpError
from web.query_limits import add_errors, limits_of

_HEX64 = re.compile(r"^[0-9a-fA-F]{64}$")


@dataclass(frozen=True, slots=True)
class PersistedRequest:
    """What APQ made of a request: the document to run (or None when the hash is unknown) and
    whether to cache it once it validates."""

    sha256: str
    document: str | None
    cache_after: bool


def requested_hash(extensions: dict[str, Any] | None) -> str | None:
    """The APQ hash a request names, or None; a malformed ``persistedQuery`` is a 400."""
    pq = (extensions or {}).get("persistedQuery")
    if pq is None:
        return None
    if not isinstance(pq, dict) or pq.get("version") != 1:
        raise HttpError(400, "Only persisted query version 1 is supported.",
                        code="PERSISTED_QUERY_NOT_SUPPORTED")
    sha = pq.get("sha256Hash")
    if not isinstance(sha, str) or not _HEX64.match(sha):
        raise HttpError(400, "`persistedQuery.sha256Hash` must be 64 hexadecimal characters.")
    return sha.lower()


async def resolve(cache: QueryCache, query: str | None, extensions: dict[str, Any] | None
                  ) -> PersistedRequest | None:
    """Apply APQ to a request's ``query`` and ``extensions`` (None when it does not use APQ)."""
    sha = requested_hash(extensions)
    if sha is None:
        return None
    if query is None:
        return PersistedRequest(sha, await persisted_queries.lookup(cache, sha), cache_after=False)
    if sha256_hex(query) != sha:
        raise HttpError(400, "provided sha does not match query",
                        code="PERSISTED_QUERY_HASH_MISMATCH")
    return PersistedRequest(sha, query, cache_after=True)


def not_found_error() -> GraphQLError:
    return GraphQLError("PersistedQueryNotFound",
                        extensions={"code": "PERSISTED_QUERY_NOT_FOUND"})


def not_allowed_error() -> GraphQLError:
    return GraphQLError(
        "Only registered documents may run for this caller: register it first (an admin's "
        "`registerPersistedQuery`), then send its hash.",
        extensions={"code": "PERSISTED_QUERY_NOT_ALLOWED"},
    )


class AllowList(SchemaExtension):
    """Refuses unregistered documents for callers restricted to the registry."""

    async def on_validate(self) -> AsyncIterator[None]:
        ctx = self.execution_context
        principal = getattr(ctx.context, "principal", None)
        restricted = limits_of(ctx.context).persisted_queries_only or bool(
            principal is not None and principal.persisted_only
        )
        if restricted and not (
            ctx.query and await persisted_queries.is_registered(sha256_hex(ctx.query))
        ):
            add_errors(ctx, not_allowed_error(), replace=True)
        yield
