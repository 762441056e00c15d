"""API keys for partners and integrations: create (secret shown once), list, revoke, authenticate.

A key acts as the learner who created it, limited to its scopes. Only a signed-in session may
manage keys (a key can never mint or revoke keys). The secret is ``cfk_`` + 43 random URL-safe
characters; we store its SHA-256 (it is random, so no salt is needed) and the first 12
characters, so the learner can tell keys apart. Revocation is checked on every request, so a
revoked key is refused at once.

Scope names (what resolvers pass to ``Context.require_scope``, and what an API key may hold):

- ``profile:read``  read the learner's own profile (``me``).
- ``progress:read`` read levels, scores and progress history.            (default)
- ``calls:read``    read calls, transcripts and analyses.                 (default)
- ``calls:write``   start and cancel calls, change call plans.
- ``billing:read``  read the balance, ledger and top-ups.
- ``topics:read``   read the topic catalogue and the learner's topics.
- ``events:read``   subscribe to the learner's live events.

A signed-in session holds every scope. A key with ``production`` set may run only documents in
the persisted-query registry (allow-list mode).
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from uuid import UUID

from db.models.accounts import User
from db.models.api_keys import ApiKey
from domain.errors import DomainError
from domain.principal import Principal, Role
from domain.tokens import token_digest

logger = logging.getLogger("callfluently.api_keys")

KEY_PREFIX = "cfk_"
MAX_KEYS_PER_USER = 20
MAX_NAME_LENGTH = 100
#: ``last_used_at`` is written at most this often per key, not on every request.
LAST_USED_RESOLUTION = timedelta(minutes=1)

#: Every scope an API key may hold, with what it allows.
SCOPES: dict[str, str] = {
    "profile:read": "Read the learner's own profile.",
    "progress:read": "Read levels, scores and progress history.",
    "calls:read": "Read calls, transcripts and analyses.",
    "calls:write": "Start and cancel calls and change call plans.",
    "billing:read": "Read the balance, ledger entries and top-ups.",
    "topics:read": "Read the topic catalogue and the learner's chosen topics.",
    "events:read": "Subscribe to the learner's live events (calls, analyses, balance).",
}
DEFAULT_SCOPES: tuple[str, ...] = ("progress:read", "calls:read")


class CreateApiKeyErrorCode(Enum):
    INVALID_NAME = "INVALID_NAME"
    UNKNOWN_SCOPE = "UNKNOWN_SCOPE"
    TOO_MANY_KEYS = "TOO_MANY_KEYS"
    SESSION_REQUIRED = "SESSION_REQUIRED"


class CreateApiKeyRefused(DomainError):
    pass


class RevokeApiKeyErrorCode(Enum):
    NOT_FOUND = "NOT_FOUND"
    SESSION_REQUIRED = "SESSION_REQUIRED"


class RevokeApiKeyRefused(DomainError):
    pass


@dataclass(frozen=True, slots=True)
class CreatedKey:
    """A new key and its secret; the secret exists only in this object, never in storage."""

    key: ApiKey
    secret: str


def is_api_key(token: str) -> bool:
    """Whether a Bearer credential is an API key (rather than a session's access token)."""
    return token.startswith(KEY_PREFIX)


def _require_session(principal: Principal, error: type[DomainError], code: Enum) -> None:
    if principal.api_key_id is not None:
        raise error(code, "API keys cannot manage API keys: sign in to do this.")


async def create(
    *, principal: Principal, name: str, scopes: list[str], production: bool, now: datetime
) -> CreatedKey:
    """Create a key for the signed-in learner and return its secret (the only time it exists)."""
    _require_session(principal, CreateApiKeyRefused, CreateApiKeyErrorCode.SESSION_REQUIRED)
    clean = name.strip()
    if not clean or len(clean) > MAX_NAME_LENGTH:
        raise CreateApiKeyRefused(CreateApiKeyErrorCode.INVALID_NAME,
                                  f"Name must be 1 to {MAX_NAME_LENGTH} characters.", "name")
    unknown = sorted(set(scopes) - SCOPES.keys())
    if unknown:
        raise CreateApiKeyRefused(CreateApiKeyErrorCode.UNKNOWN_SCOPE,
                                  f"Unknown scope: {', '.join(unknown)}.", "scopes")
    active = await ApiKey.filter(user_id=principal.user_id, revoked_at=None).count()
    if active >= MAX_KEYS_PER_USER:
        raise CreateApiKeyRefused(CreateApiKeyErrorCode.TOO_MANY_KEYS,
                                  f"At most {MAX_KEYS_PER_USER} active keys: revoke one first.")
    secret = KEY_PREFIX + secrets.token_urlsafe(32)
    key = await ApiKey.create(
        user_id=principal.user_id, name=clean, prefix=secret[:12],
        secret_hash=token_digest(secret), scopes=sorted(set(scopes or DEFAULT_SCOPES)),
        production=production,
    )
    logger.info("api key created", extra={"api_key_id": str(key.id),
                                          "user_id": str(principal.user_id)})
    return CreatedKey(key=key, secret=secret)


async def list_keys(*, user_id: UUID) -> list[ApiKey]:
    """The learner's keys, newest first, revoked ones included (they show when)."""
    return await ApiKey.filter(user_id=user_id).order_by("-created_at")


async def revoke(*, principal: Principal, key_id: UUID, now: datetime) -> ApiKey:
    """Revoke one of the learner's own keys; it is refused from the next request on."""
    _require_session(principal, RevokeApiKeyRefused, RevokeApiKeyErrorCode.SESSION_REQUIRED)
    key = await ApiKey.get_or_none(id=key_id, user_id=principal.user_id)
    if key is None:
        raise RevokeApiKeyRefused(RevokeApiKeyErrorCode.NOT_FOUND, "No such API key.", "id")
    await ApiKey.filter(id=key.id, revoked_at=None).update(revoked_at=now)
    await key.refresh_from_db()
    logger.info("api key revoked", extra={"api_key_id": str(key.id),
                                          "user_id": str(principal.user_id)})
    return key


async def authenticate(*, secret: str, now: datetime) -> Principal | None:
    """The principal behind a live key of an active account, or None (unknown or revoked)."""
    key = await ApiKey.get_or_none(secret_hash=token_digest(secret), revoked_at=None)
    if key is None:
        return None
    user = await User.get_or_none(id=key.user_id, status="active")  # type: ignore[attr-defined]
    if user is None:
        return None
    if key.last_used_at is None or now - key.last_used_at >= LAST_USED_RESOLUTION:
        await ApiKey.filter(id=key.id).update(last_used_at=now)
    return Principal(user_id=user.id, role=Role(user.role), api_key_id=key.id,
                     scopes=frozenset(key.scopes), persisted_only=key.production)
