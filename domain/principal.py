"""Who is calling: a signed-in learner or staff member, or a partner's API key."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from uuid import UUID


class Role(Enum):
    LEARNER = "learner"
    SUPPORT = "support"
    ADMIN = "admin"


@dataclass(frozen=True, slots=True)
class Principal:
    """The authenticated caller. ``scopes`` is None for a full session, a set for an API key."""

    user_id: UUID
    role: Role
    session_id: UUID | None = None
    api_key_id: UUID | None = None
    scopes: frozenset[str] | None = None
    #: A production API key: only documents in the persisted-query registry may run.
    persisted_only: bool = False

    def allows(self, scope: str) -> bool:
        """Whether this principal may use ``scope`` (sessions may use every scope)."""
        return self.scopes is None or scope in self.scopes
