"""API key resolvers: create (secret shown once), list and revoke the learner's own keys."""

from __future__ import annotations

from typing import Annotated

import strawberry

from domain import api_keys
from resolvers.context import Context
from schema.api_keys import (
    DEFAULT_SCOPES,
    ApiKey,
    ApiKeyCreated,
    ApiKeyScope,
    CreateApiKeyError,
    CreateApiKeyResult,
    RevokeApiKeyError,
    RevokeApiKeyResult,
)
from schema.ids import BadId, decode_uuid

Info = strawberry.Info[Context, None]


async def my_api_keys(info: Info) -> list[ApiKey]:
    principal = info.context.require_principal()
    return [ApiKey.from_model(row) for row in await api_keys.list_keys(user_id=principal.user_id)]


async def create_api_key(
    info: Info,
    name: Annotated[str, strawberry.argument(
        description="A name to recognise the key by, 1–100 characters.")],
    scopes: Annotated[list[ApiKeyScope] | None, strawberry.argument(
        description="What the key may do; defaults to PROGRESS_READ and CALLS_READ.")] = None,
    production: Annotated[bool, strawberry.argument(
        description="Restrict the key to registered (persisted) documents.")] = False,
) -> CreateApiKeyResult:
    ctx = info.context
    principal = ctx.require_principal()
    chosen = scopes if scopes is not None else DEFAULT_SCOPES
    try:
        created = await api_keys.create(
            principal=principal, name=name, scopes=[str(s.value) for s in chosen],
            production=production, now=ctx.now,
        )
    except api_keys.CreateApiKeyRefused as exc:
        return CreateApiKeyError.from_refusal(exc)
    return ApiKeyCreated(api_key=ApiKey.from_model(created.key), secret=created.secret)


async def revoke_api_key(
    info: Info,
    id: Annotated[strawberry.ID, strawberry.argument(description="The key's global ID.")],
) -> RevokeApiKeyResult:
    ctx = info.context
    principal = ctx.require_principal()
    try:
        key_id = decode_uuid(str(id), "ApiKey")
        row = await api_keys.revoke(principal=principal, key_id=key_id, now=ctx.now)
    except BadId:
        return RevokeApiKeyError(code=api_keys.RevokeApiKeyErrorCode.NOT_FOUND,
                                 message="No such API key.", field="id")
    except api_keys.RevokeApiKeyRefused as exc:
        return RevokeApiKeyError.from_refusal(exc)
    return ApiKey.from_model(row)


@strawberry.type
class ApiKeysQuery:
    api_keys: list[ApiKey] = strawberry.field(
        resolver=my_api_keys,
        description="The signed-in learner's API keys, newest first, revoked ones included. "
        "Requires sign-in.",
    )


@strawberry.type
class ApiKeysMutation:
    create_api_key: CreateApiKeyResult = strawberry.mutation(
        resolver=create_api_key,
        description="Create an API key for partners and integrations; the secret is in the "
        "result and never shown again. Requires a signed-in session (not an API key).",
    )
    revoke_api_key: RevokeApiKeyResult = strawberry.mutation(
        resolver=revoke_api_key,
        description="Revoke one of the learner's API keys; it is refused from the next request "
        "on. Requires a signed-in session (not an API key).",
    )
