"""Persisted queries: Apollo's automatic persisted queries (APQ) and the admin allow-list.

APQ saves bandwidth: a client sends only the SHA-256 of a document it sent before, and the
document comes from a cache (memory, or Redis so every process shares it). The allow-list is
a different thing: a registry an admin fills, and when a caller is restricted to it (production
API keys, or everyone with PERSISTED_QUERIES_ONLY) a document outside it does not run at all.
Registered documents are also found by hash, so allow-listed clients can send hashes only.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from enum import Enum
from typing import Protocol
from uuid import UUID

from db.models.persisted_queries import PersistedQuery
from domain.errors import DomainError

MAX_DOCUMENT_BYTES = 100_000


def sha256_hex(document: str) -> str:
    """The hash APQ and the registry key documents by: hex SHA-256 of the UTF-8 text."""
    return hashlib.sha256(document.encode("utf-8")).hexdigest()


class QueryCache(Protocol):
    """The APQ cache: documents by hash, forgotten after a while."""

    async def get(self, sha256: str) -> str | None: ...

    async def put(self, sha256: str, document: str) -> None: ...


class MemoryQueryCache:
    """An LRU of the ``max_entries`` most recently used documents, in this process only."""

    def __init__(self, max_entries: int = 2000) -> None:
        self.max_entries = max_entries
        self._docs: OrderedDict[str, str] = OrderedDict()

    async def get(self, sha256: str) -> str | None:
        doc = self._docs.get(sha256)
        if doc is not None:
            self._docs.move_to_end(sha256)
        return doc

    async def put(self, sha256: str, document: str) -> None:
        self._docs[sha256] = document
        self._docs.move_to_end(sha256)
        while len(self._docs) > self.max_entries:
            self._docs.popitem(last=False)


async def lookup(cache: QueryCache, sha256: str) -> str | None:
    """The document for ``sha256``: the registry first (it never expires), then the APQ cache."""
    registered = await PersistedQuery.get_or_none(sha256=sha256.lower())
    if registered is not None:
        return registered.document
    return await cache.get(sha256.lower())


async def is_registered(sha256: str) -> bool:
    """Whether ``sha256`` names a document in the allow-list."""
    return await PersistedQuery.exists(sha256=sha256.lower())


class RegisterPersistedQueryErrorCode(Enum):
    INVALID_DOCUMENT = "INVALID_DOCUMENT"


class RegisterPersistedQueryRefused(DomainError):
    pass


async def register(*, document: str, name: str | None, admin_id: UUID) -> PersistedQuery:
    """Add a document to the allow-list (idempotent: the same text keeps its first entry).

    The caller (the GraphQL layer) has already checked that the document parses and validates
    against the schema, since the domain knows no GraphQL.
    """
    if not document.strip() or len(document.encode("utf-8")) > MAX_DOCUMENT_BYTES:
        raise RegisterPersistedQueryRefused(
            RegisterPersistedQueryErrorCode.INVALID_DOCUMENT,
            f"The document must be 1 to {MAX_DOCUMENT_BYTES} bytes.", "document",
        )
    row, _ = await PersistedQuery.get_or_create(
        sha256=sha256_hex(document),
        defaults={"document": document, "name": (name or "").strip()[:200] or None,
                  "registered_by": admin_id},
    )
    return row


async def list_registered() -> list[PersistedQuery]:
    return await PersistedQuery.all().order_by("-created_at")
