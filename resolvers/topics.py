"""Topic resolvers: the public catalog, a learner's selection, and admin curation."""

from __future__ import annotations

from typing import Annotated

import strawberry

from domain import topics
from domain.principal import Role
from resolvers.context import Context, graphql_error
from schema.accounts import User
from schema.cefr import CefrLevel
from schema.ids import BadId, decode_uuid
from schema.pagination import connection, decode_cursor, page_size
from schema.topics import (
    AddTopicError,
    AddTopicInput,
    AddTopicResult,
    RetireTopicError,
    RetireTopicResult,
    SelectTopicsError,
    SelectTopicsResult,
    Topic,
    TopicConnection,
)

Info = strawberry.Info[Context, None]


def _position(cursor: str | None) -> topics.CatalogPosition | None:
    """The catalog position a cursor names (``level|slug``), or a BAD_USER_INPUT error."""
    try:
        value = decode_cursor(cursor)
    except ValueError:
        value = ""
    if value is None:
        return None
    level, sep, slug = value.partition("|")
    if not sep or not slug:
        raise graphql_error("Invalid cursor.", "BAD_USER_INPUT", argument="after")
    return topics.CatalogPosition(level_min=level, slug=slug)


async def list_topics(
    info: Info,
    level: Annotated[CefrLevel | None, strawberry.argument(
        description="Only topics suited to this level.")] = None,
    first: Annotated[int | None, strawberry.argument(
        description="Page size, 1 to 100 (default 20).")] = None,
    after: Annotated[str | None, strawberry.argument(
        description="`endCursor` of the previous page.")] = None,
) -> TopicConnection:
    try:
        size = page_size(first)
    except ValueError as exc:
        raise graphql_error(str(exc), "BAD_USER_INPUT", argument="first") from None
    rows = await topics.list_topics(
        level=level,
        after=_position(after),
        limit=size + 1,
    )
    return connection(
        [Topic.from_model(row) for row in rows],
        size=size,
        cursor_of=lambda t: f"{t.row.level_min}|{t.row.slug}",
        had_previous=after is not None,
    )


async def select_topics(
    info: Info,
    topic_ids: Annotated[list[strawberry.ID], strawberry.argument(
        description="The whole new selection: catalog topic IDs, at most 10, in order of "
        "preference.")],
) -> SelectTopicsResult:
    # Plain IDs, decoded here: a malformed one is then TOPIC_NOT_FOUND, not a masked error.
    principal = info.context.require_principal()
    try:
        ids = [decode_uuid(str(gid), "Topic") for gid in topic_ids]
        await topics.select_topics(user_id=principal.user_id, topic_ids=ids)
    except BadId:
        return SelectTopicsError(
            code=topics.SelectTopicsErrorCode.TOPIC_NOT_FOUND,
            message="One of the chosen topics does not exist or has been retired.",
            field="topicIds",
        )
    except topics.SelectTopicsRefused as exc:
        return SelectTopicsError.from_refusal(exc)
    row = await info.context.loaders.users.load(principal.user_id)
    if row is None:  # the account was deleted while the request ran
        raise graphql_error("Sign in to do this.", "UNAUTHENTICATED")
    return User.from_model(row)


async def add_topic(
    info: Info,
    input: Annotated[AddTopicInput, strawberry.argument(description="The new topic.")],
) -> AddTopicResult:
    info.context.require_role(Role.ADMIN)
    new = topics.NewTopic(
        title=input.title,
        description=input.description,
        level_min=input.level_min,
        level_max=input.level_max,
        instructions=input.coach_instructions,
    )
    try:
        row = await topics.add_topic(topic=new)
    except topics.AddTopicRefused as exc:
        return AddTopicError.from_refusal(exc)
    return Topic.from_model(row)


async def retire_topic(
    info: Info,
    id: Annotated[strawberry.ID, strawberry.argument(description="The topic to retire.")],
) -> RetireTopicResult:
    info.context.require_role(Role.ADMIN)
    try:
        row = await topics.retire_topic(topic_id=decode_uuid(str(id), "Topic"))
    except BadId:
        return RetireTopicError(
            code=topics.RetireTopicErrorCode.TOPIC_NOT_FOUND, message="No such topic.", field="id"
        )
    except topics.RetireTopicRefused as exc:
        return RetireTopicError.from_refusal(exc)
    return Topic.from_model(row)


@strawberry.type
class TopicsQuery:
    topics: TopicConnection = strawberry.field(
        resolver=list_topics,
        description="The catalog of active conversation topics, easiest first; with `level`, "
        "only topics whose range includes it. Anyone may call.",
    )


@strawberry.type
class TopicsMutation:
    select_topics: SelectTopicsResult = strawberry.mutation(
        resolver=select_topics,
        description="Replace the signed-in learner's chosen topics (at most 10; an empty list "
        "clears them). Planned calls rotate through them, least recently practised first. "
        "Requires sign-in.",
    )
    add_topic: AddTopicResult = strawberry.mutation(
        resolver=add_topic, description="Add a topic to the catalog. Requires role ADMIN."
    )
    retire_topic: RetireTopicResult = strawberry.mutation(
        resolver=retire_topic,
        description="Take a topic out of the catalog: it is no longer offered, chosen or called "
        "about; past calls keep it. Retiring twice is harmless. Requires role ADMIN.",
    )
