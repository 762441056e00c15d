"""The persisted-query registry in the schema (admins only)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Self

import strawberry

from db.models.persisted_queries import PersistedQuery as PersistedQueryRow
from domain import persisted_queries
from schema.errors import RefusalError, UserError, enum_type


@strawberry.type(
    description="A GraphQL document in the allow-list. Production API keys may run only these; "
    "clients send `extensions.persistedQuery.sha256Hash` instead of the text."
)
class PersistedQuery:
    sha256_hash: str = strawberry.field(description="Hex SHA-256 of the document's UTF-8 text.")
    name: str | None = strawberry.field(description="A label for people, e.g. the client's name.")
    document: str = strawberry.field(description="The document as registered.")
    created_at: datetime = strawberry.field(description="When it was registered (UTC).")

    @classmethod
    def from_model(cls, row: PersistedQueryRow) -> Self:
        return cls(sha256_hash=row.sha256, name=row.name, document=row.document,
                   created_at=row.created_at)


# Registered in place: the field below is typed with the domain enum itself.
enum_type(persisted_queries.RegisterPersistedQueryErrorCode, "RegisterPersistedQueryErrorCode",
          "Why `registerPersistedQuery` refused.",
          {"INVALID_DOCUMENT": "The document is empty, too long, or does not validate."})


@strawberry.type(description="`registerPersistedQuery` refused: see `message`.")
class RegisterPersistedQueryError(RefusalError, UserError):
    code: persisted_queries.RegisterPersistedQueryErrorCode = strawberry.field(
        description="Why it was refused."
    )


RegisterPersistedQueryResult = Annotated[
    PersistedQuery | RegisterPersistedQueryError,
    strawberry.union("RegisterPersistedQueryResult",
                     description="The registered document, or why not."),
]
