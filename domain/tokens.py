"""Short-lived JWT access tokens and opaque, hashed refresh tokens."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

import jwt

ALGORITHM = "HS256"


@dataclass(frozen=True, slots=True)
class AccessClaims:
    user_id: UUID
    session_id: UUID
    expires_at: datetime


class AccessTokens:
    """Signs and checks access tokens; the signing secret never leaves this object."""

    def __init__(self, secret: str, ttl: timedelta) -> None:
        self._secret = secret
        self.ttl = ttl

    def issue(self, *, user_id: UUID, session_id: UUID, now: datetime) -> str:
        claims = {
            "sub": str(user_id),
            "sid": str(session_id),
            "iat": int(now.timestamp()),
            "exp": int((now + self.ttl).timestamp()),
            "typ": "access",
        }
        return jwt.encode(claims, self._secret, algorithm=ALGORITHM)

    def read(self, token: str, *, now: datetime) -> AccessClaims | None:
        """The claims of a valid, unexpired token, or None for anything else."""
        try:
            claims = jwt.decode(
                token,
                self._secret,
                algorithms=[ALGORITHM],
                # Expiry is checked below against the injected clock; PyJWT's own checks use
                # the wall clock, which would refuse a token from a process whose clock runs
                # ahead (skew between processes, or a test clock moved forward).
                options={"verify_exp": False, "verify_iat": False,
                         "require": ["sub", "sid", "exp"]},
            )
            if claims.get("typ") != "access" or claims["exp"] <= now.timestamp():
                return None
            return AccessClaims(
                user_id=UUID(claims["sub"]),
                session_id=UUID(claims["sid"]),
                expires_at=datetime.fromtimestamp(claims["exp"], tz=now.tzinfo),
            )
        except (jwt.PyJWTError, ValueError, KeyError, TypeError):
            return None


def new_refresh_token() -> str:
    return secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    """What we store instead of a token: its SHA-256 (tokens are random, so no salt is needed)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()
