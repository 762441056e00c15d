"""API keys in the schema: the key (never its secret), the one-time secret, scopes and errors."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Annotated, Self

import strawberry
from strawberry import relay

from db.models.api_keys import ApiKey as ApiKeyRow
from domain import api_keys
from domain.api_keys import SCOPES
from schema.errors import RefusalError, UserError, enum_type


@strawberry.enum(description="What an API key may read or do (see each value).")
class ApiKeyScope(Enum):
    PROFILE_READ = strawberry.enum_value("profile:read", description=SCOPES["profile:read"])
    PROGRESS_READ = strawberry.enum_value("progress:read", description=SCOPES["progress:read"])
    CALLS_READ = strawberry.enum_value("calls:read", description=SCOPES["calls:read"])
    CALLS_WRITE = strawberry.enum_value("calls:write", description=SCOPES["calls:write"])
    BILLING_READ = strawberry.enum_value("billing:read", description=SCOPES["billing:read"])
    TOPICS_READ = strawberry.enum_value("topics:read", description=SCOPES["topics:read"])
    EVENTS_READ = strawberry.enum_value("events:read", description=SCOPES["events:read"])


DEFAULT_SCOPES = [ApiKeyScope(s) for s in api_keys.DEFAULT_SCOPES]


@strawberry.type(
    description="An API key of the signed-in learner, for partners and integrations. It acts "
    "as the learner, limited to its scopes. The secret is shown only once, by `createApiKey`."
)
class ApiKey(relay.Node):
    id: relay.NodeID[str]
    name: str = strawberry.field(description="The learner's name for the key.")
    prefix: str = strawberry.field(
        description="The first characters of the secret (e.g. `cfk_AbCdEfGh`), to tell keys apart."
    )
    scopes: list[ApiKeyScope] = strawberry.field(description="What the key may read or do.")
    production: bool = strawberry.field(
        description="A production key may run only registered (persisted) documents."
    )
    created_at: datetime = strawberry.field(description="When the key was created (UTC).")
    last_used_at: datetime | None = strawberry.field(
        description="When the key was last used, to the minute; null if never."
    )
    revoked_at: datetime | None = strawberry.field(
        description="When the key was revoked; null while it works."
    )

    @classmethod
    def from_model(cls, row: ApiKeyRow) -> Self:
        return cls(
            id=str(row.id), name=row.name, prefix=row.prefix,
            scopes=[ApiKeyScope(s) for s in row.scopes if s in SCOPES],
            production=row.production, created_at=row.created_at,
            last_used_at=row.last_used_at, revoked_at=row.revoked_at,
        )


@strawberry.type(description="A new API key and its secret.")
class ApiKeyCreated:
    api_key: ApiKey = strawberry.field(description="The key as it is stored.")
    secret: str = strawberry.field(
        description="The secret, shown this once: send it as `Authorization: Bearer <secret>`. "
        "Only its hash is kept, so it cannot be shown again."
    )


# Registered in place: fields below are typed with the domain enums themselves.
enum_type(api_keys.CreateApiKeyErrorCode, "CreateApiKeyErrorCode", "Why `createApiKey` refused.", {
    "INVALID_NAME": "The name is empty or longer than 100 characters.",
    "UNKNOWN_SCOPE": "A scope is not one of ApiKeyScope.",
    "TOO_MANY_KEYS": "The learner already has 20 active keys.",
    "SESSION_REQUIRED": "Called with an API key: only a signed-in session may create keys.",
})
enum_type(api_keys.RevokeApiKeyErrorCode, "RevokeApiKeyErrorCode", "Why `revokeApiKey` refused.", {
    "NOT_FOUND": "No key of the learner's has this ID.",
    "SESSION_REQUIRED": "Called with an API key: only a signed-in session may revoke keys.",
})


@strawberry.type(description="`createApiKey` refused: see `code` and `field`.")
class CreateApiKeyError(RefusalError, UserError):
    code: api_keys.CreateApiKeyErrorCode = strawberry.field(description="Why it was refused.")


@strawberry.type(description="`revokeApiKey` refused.")
class RevokeApiKeyError(RefusalError, UserError):
    code: api_keys.RevokeApiKeyErrorCode = strawberry.field(description="Why it was refused.")


CreateApiKeyResult = Annotated[
    ApiKeyCreated | CreateApiKeyError,
    strawberry.union("CreateApiKeyResult", description="The new key with its secret, or why not."),
]
RevokeApiKeyResult = Annotated[
    ApiKey | RevokeApiKeyError,
    strawberry.union("RevokeApiKeyResult", description="The revoked key, or why not."),
]
