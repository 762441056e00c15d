"""Where a learner's data lives: every table that points at a user or at one of their calls.

Other domains add tables (API keys, progress aggregates, …) while this one is written, so
export, erasure and purge do not rely on a hand-kept list alone: they ask the ORM which models
hold a foreign key to ``accounts.User`` or ``calls.Call``. The tables the privacy code handles
by name are listed here; any other linked table is exported generically and erased by default.
"""

from __future__ import annotations

import datetime as dt
import decimal
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from enum import Enum
from typing import Any

from tortoise import Tortoise
from tortoise.models import Model

from db.models.accounts import RefreshToken, Session, User
from db.models.analysis import Analysis, Correction, LevelHistory
from db.models.billing import LedgerEntry, TopUp
from db.models.calls import Call, TranscriptTurn
from db.models.plans import CallPlan, Preferences
from db.models.privacy import AuditLog, Consent, DataExport, Notification, PrivacyRequest
from db.models.topics import UserTopic

#: Tables the export writes as named sections (see docs/privacy.md).
EXPORTED_BY_NAME: frozenset[type[Model]] = frozenset({
    User, Session, UserTopic, CallPlan, Preferences, Call, TranscriptTurn, Analysis, Correction,
    LevelHistory, LedgerEntry, TopUp, PrivacyRequest, Consent, Notification, AuditLog,
})
#: Linked tables left out of the export, and why.
NOT_EXPORTED: dict[type[Model], str] = {
    DataExport: "earlier exports are copies of this document",
    RefreshToken: "hashes of sign-in secrets; the sessions section describes each sign-in",
}
#: Kept (detached from the person) when an account closes: payment records, 10 years.
KEPT_DETACHED: frozenset[type[Model]] = frozenset({LedgerEntry, TopUp})
#: The account skeleton kept until the closed account is purged (closure + 2 years).
KEPT_UNTIL_PURGE: frozenset[type[Model]] = frozenset(
    {Session, Consent, PrivacyRequest, AuditLog}
)
#: Column-name fragments never exported or scanned out: secrets, stored only as hashes.
SECRET_MARKERS = ("hash", "secret", "token")


class Owner(Enum):
    USER = "user"
    CALL = "call"


@dataclass(frozen=True, slots=True)
class Link:
    """``model.column`` holds the id of a user (or of a user's call)."""

    model: type[Model]
    column: str
    nullable: bool
    owner: Owner

    @property
    def table(self) -> str:
        return self.model._meta.db_table


def all_models() -> Iterator[type[Model]]:
    for app in Tortoise.apps.values():
        yield from app.values()


def links() -> list[Link]:
    """Every foreign key to ``users`` or ``calls``, across all apps."""
    found: list[Link] = []
    for model in all_models():
        meta = model._meta
        for name in sorted(meta.fk_fields | meta.o2o_fields):
            field = meta.fields_map[name]
            target = getattr(field, "related_model", None)
            owner = Owner.USER if target is User else Owner.CALL if target is Call else None
            if owner is None:
                continue
            column = getattr(field, "source_field", None) or f"{name}_id"
            found.append(Link(model=model, column=column, nullable=bool(field.null), owner=owner))
    return sorted(found, key=lambda link: (link.table, link.column))


def unnamed_links() -> list[Link]:
    """Linked tables the privacy code does not handle by name (exported generically)."""
    named = EXPORTED_BY_NAME | set(NOT_EXPORTED) | {User}
    return [link for link in links() if link.model not in named]


def is_secret(column: str) -> bool:
    return any(marker in column.lower() for marker in SECRET_MARKERS)


def plain(value: Any) -> Any:
    """A JSON-ready form of a database value."""
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, uuid.UUID | decimal.Decimal):
        return str(value)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, bytes):
        return None
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def plain_row(row: dict[str, Any]) -> dict[str, Any]:
    """A generic row without secret columns, JSON-ready."""
    return {key: plain(value) for key, value in row.items() if not is_secret(key)}
