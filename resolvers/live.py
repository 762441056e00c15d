"""Live subscriptions: one call's updates, and every event of the signed-in learner.

Both replay the event log after ``after`` and then go live, each event once. They run over
graphql-transport-ws; ``web/subscriptions.py`` authenticates the connection, caps the number of
subscriptions per connection and keeps it alive.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Annotated

import strawberry

from domain import live
from resolvers.context import Context, graphql_error
from schema.ids import BadId, decode_uuid
from schema.live import CallEvent, Event, event_from

Info = strawberry.Info[Context, None]

MAX_EVENT_ID = 2**63 - 1

After = Annotated[str | None, strawberry.argument(
    description="An `eventId` received before: replay the logged events after it first. "
    "Omitted: only events from now on."
)]


def _after(after: str | None) -> int | None:
    """The log id behind an ``after`` argument (an ``eventId`` this API handed out)."""
    if after is None:
        return None
    if not (after.isascii() and after.isdigit() and int(after) <= MAX_EVENT_ID):
        raise graphql_error(
            "`after` must be an eventId you received.", "BAD_USER_INPUT", field="after"
        )
    return int(after)


async def _events(info: Info, feed: live.Feed, after: int | None) -> AsyncGenerator[Event, None]:
    ctx = info.context
    try:
        async for logged in live.follow(
            bus=ctx.services.bus, feed=feed, after=after,
            max_queue=ctx.services.settings.live_queue_size,
        ):
            event = event_from(logged)
            if event is not None:
                yield event
    except live.SlowConsumer as exc:
        raise graphql_error(
            "This subscription fell too far behind and was stopped. Subscribe again with "
            "`after` set to the last eventId you received.",
            "SLOW_CONSUMER",
            lastEventId=str(exc.last_event_id) if exc.last_event_id is not None else None,
        ) from exc


async def _call_events(
    info: Info, feed: live.Feed, after: int | None
) -> AsyncGenerator[CallEvent, None]:
    async for event in _events(info, feed, after):
        if isinstance(event, CallEvent):
            yield event


async def call_updates(
    info: Info,
    call_id: Annotated[strawberry.ID, strawberry.argument(
        description="The call, one of the signed-in learner's own.")],
    after: After = None,
) -> AsyncGenerator[CallEvent, None]:
    principal = info.context.require_scope("calls:read")
    cursor = _after(after)
    try:
        feed = await live.call_feed(principal=principal, call_id=decode_uuid(call_id, "Call"))
    except (BadId, live.CallUpdatesRefused):
        raise graphql_error("No such call.", "NOT_FOUND", field="callId") from None
    return _call_events(info, feed, cursor)


async def my_events(info: Info, after: After = None) -> AsyncGenerator[Event, None]:
    principal = info.context.require_scope("events:read")
    cursor = _after(after)
    return _events(info, live.user_feed(principal=principal), cursor)


@strawberry.type
class LiveSubscription:
    call_updates: AsyncGenerator[CallEvent, None] = strawberry.subscription(
        resolver=call_updates,
        description="Status changes, live transcript lines, the end and the analysis of one of "
        "the signed-in learner's own calls. With `after` (an eventId), first replays what the "
        "event log holds after it, then goes live with no gap and no duplicate. Requires "
        "sign-in (scope `calls:read` for API keys); another learner's call is NOT_FOUND. "
        "Over graphql-transport-ws only.",
    )
    my_events: AsyncGenerator[Event, None] = strawberry.subscription(
        resolver=my_events,
        description="Every event of the signed-in learner: calls, transcripts, analyses, "
        "balance changes and privacy-request updates. With `after` (an eventId), first "
        "replays what the event log holds after it, then goes live with no gap and no "
        "duplicate. Requires sign-in (scope `events:read` for API keys). Over "
        "graphql-transport-ws only.",
    )
