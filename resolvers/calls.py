"""Call resolvers: start a coaching call, read one's own calls."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Annotated

import strawberry
from strawberry.types.nodes import SelectedField, Selection

from domain import calls, calls_queries
from domain.calls_queries import CallCursor
from resolvers.context import Context, graphql_error
from schema.calls import (
    Call,
    CallConnection,
    CallStatus,
    StartCallError,
    StartCallResult,
    with_related,
)
from schema.ids import BadId, decode_uuid
from schema.pagination import connection, decode_cursor, page_size

Info = strawberry.Info[Context, None]


def _pricing(info: Info) -> calls.Pricing:
    settings = info.context.services.settings
    return calls.Pricing(settings.price_per_minute_minor, settings.currency)


# IDs are taken as plain `ID`s and decoded here, so a malformed one is a typed answer rather
# than a scalar-parsing error.


async def start_call(
    info: Info,
    topic_id: Annotated[strawberry.ID | None, strawberry.argument(
        description="A catalog topic to talk about; without it, the least recently practised "
        "of the learner's selected topics, or a free conversation.")] = None,
) -> StartCallResult:
    ctx = info.context
    principal = ctx.require_scope("calls:write")
    try:
        topic = decode_uuid(str(topic_id), "Topic") if topic_id is not None else None
        row = await calls.start_call(
            effects=ctx.services.effects, user_id=principal.user_id, topic_id=topic,
            now=ctx.now, pricing=_pricing(info),
        )
    except BadId:
        return StartCallError(
            code=calls.StartCallErrorCode.TOPIC_NOT_FOUND, message="No such topic.",
            field="topicId",
        )
    except calls.StartCallRefused as exc:
        return StartCallError.from_refusal(exc)
    return Call.from_model(row)


async def call(
    info: Info, id: Annotated[strawberry.ID, strawberry.argument(description="The call's ID.")]
) -> Call | None:
    principal = info.context.require_scope("calls:read")
    try:
        call_id = decode_uuid(str(id), "Call")
    except BadId:
        return None
    row = await calls_queries.get_own_call(user_id=principal.user_id, call_id=call_id)
    return Call.from_model(row) if row is not None else None


async def my_calls(
    info: Info,
    first: Annotated[int | None, strawberry.argument(
        description="Page size: 1 to 100, default 20.")] = None,
    after: Annotated[str | None, strawberry.argument(
        description="The previous page's `endCursor`.")] = None,
    status: Annotated[CallStatus | None, strawberry.argument(
        description="Only calls in this status.")] = None,
) -> CallConnection:
    principal = info.context.require_scope("calls:read")
    try:
        size = page_size(first)
        raw = decode_cursor(after)
        if after and not raw:
            raise ValueError("Invalid cursor.")
        cursor = CallCursor.decode(raw) if raw else None
    except ValueError as exc:
        raise graphql_error(str(exc) if "first" in str(exc) else "Invalid cursor.",
                            "BAD_USER_INPUT") from None
    selected = node_selections(info)
    topic, analysis = "topic" in selected, "analysis" in selected
    rows = await calls_queries.list_own_calls(
        user_id=principal.user_id, limit=size + 1, after=cursor,
        status=calls.CallStatus(status.value) if status is not None else None,
        related=tuple(name for name, wanted in (("topic", topic), ("analysis", analysis))
                      if wanted),
    )
    return connection(
        [with_related(r, topic=topic, analysis=analysis) for r in rows], size=size,
        cursor_of=lambda c: CallCursor.of(c.row).encode(), had_previous=cursor is not None,
    )


def field_names(selections: Iterable[Selection]) -> Iterator[str]:
    """Every field name under ``selections``, at any depth and through fragments."""
    for sel in selections:
        if isinstance(sel, SelectedField):
            yield sel.name
        yield from field_names(sel.selections)


def node_selections(info: Info) -> set[str]:
    """The field names the request selects under ``edges.node`` (generously: at any depth, so
    an unused prefetch is possible but a missed one is not, and a miss would still be correct:
    the fields fall back to their loaders)."""
    names: set[str] = set()
    for field in info.selected_fields:
        names.update(field_names(field.selections))
    return names


@strawberry.type
class CallsQuery:
    call: Call | None = strawberry.field(
        resolver=call,
        description="One of the signed-in learner's calls; null when it does not exist or "
        "belongs to someone else. Requires sign-in (API keys: `calls:read`).",
    )
    calls: CallConnection = strawberry.field(
        resolver=my_calls,
        description="The signed-in learner's calls, newest first, optionally of one status. "
        "`first` defaults to 20, at most 100. Requires sign-in (API keys: `calls:read`).",
    )


@strawberry.type
class CallsMutation:
    start_call: StartCallResult = strawberry.mutation(
        resolver=start_call,
        description="Call the signed-in learner now, about `topicId` (or, without it, the "
        "least recently practised of their selected topics). The call is placed in the "
        "background: follow `status`. Requires sign-in (API keys: `calls:write`), a phone "
        "number, no other active call and a balance covering one minute.",
    )
