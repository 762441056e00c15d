"""Admin resolvers for the persisted-query allow-list."""

from __future__ import annotations

from typing import Annotated

import strawberry
from graphql import GraphQLError, parse, validate

from domain import persisted_queries
from domain.principal import Role
from resolvers.context import Context
from schema.persisted_queries import (
    PersistedQuery,
    RegisterPersistedQueryError,
    RegisterPersistedQueryResult,
)

Info = strawberry.Info[Context, None]


def _document_problem(info: Info, document: str) -> str | None:
    """Why ``document`` would not run against this schema, or None when it would."""
    try:
        errors = validate(info.schema._schema, parse(document, max_tokens=50_000))
    except GraphQLError as exc:
        return exc.message
    return errors[0].message if errors else None


async def register_persisted_query(
    info: Info,
    document: Annotated[str, strawberry.argument(
        description="The GraphQL document to allow, verbatim.")],
    name: Annotated[str | None, strawberry.argument(description="A label for people.")] = None,
) -> RegisterPersistedQueryResult:
    principal = info.context.require_role(Role.ADMIN)
    problem = _document_problem(info, document)
    if problem is not None:
        return RegisterPersistedQueryError(
            code=persisted_queries.RegisterPersistedQueryErrorCode.INVALID_DOCUMENT,
            message=f"The document does not validate: {problem}", field="document",
        )
    try:
        row = await persisted_queries.register(document=document, name=name,
                                               admin_id=principal.user_id)
    except persisted_queries.RegisterPersistedQueryRefused as exc:
        return RegisterPersistedQueryError.from_refusal(exc)
    return PersistedQuery.from_model(row)


async def registered_queries(info: Info) -> list[PersistedQuery]:
    info.context.require_role(Role.ADMIN)
    return [PersistedQuery.from_model(r) for r in await persisted_queries.list_registered()]


@strawberry.type
class PersistedQueriesQuery:
    persisted_queries: list[PersistedQuery] = strawberry.field(
        resolver=registered_queries,
        description="Every document in the persisted-query allow-list, newest first. Admins only.",
    )


@strawberry.type
class PersistedQueriesMutation:
    register_persisted_query: RegisterPersistedQueryResult = strawberry.mutation(
        resolver=register_persisted_query,
        description="Add a document to the persisted-query allow-list (idempotent). It must "
        "validate against the schema. Admins only.",
    )
