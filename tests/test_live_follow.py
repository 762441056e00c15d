"""The replay-then-live merge under the orderings a bus can produce: commits whose ids arrive out
of order, echoes of events already replayed, and resyncs after a bus gap.

These drive ``domain.live.follow`` over the in-process bus directly, because the orderings depend
on transaction timing that the public surface cannot pin down.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from uuid import UUID

from starlette.applications import Starlette

from domain import live
from domain.live import EventType, Feed
from domain.ports import PublishedEvent
from domain.uow import Effects, UnitOfWork, to_published
from main import Runtime
from providers.bus_memory import MemoryBus


class Held:
    """A publisher that keeps events back, so a test decides when (and how) they are delivered."""

    def __init__(self) -> None:
        self.events: list[PublishedEvent] = []

    async def publish(self, events: list[PublishedEvent]) -> None:
        self.events.extend(events)


async def log(runtime: Runtime, publisher: object, user_id: UUID, amount: int) -> PublishedEvent:
    effects = Effects(publisher=publisher, jobs=runtime.services.effects.jobs)  # type: ignore[arg-type]
    async with UnitOfWork(effects) as uow:
        row = await uow.emit(user_id=user_id, type=EventType.BALANCE_CHANGED, payload={
            "amountMinor": amount, "currency": "USD", "deltaMinor": 1, "kind": "top_up"})
    return to_published(row)


async def live_stream(
    runtime: Runtime, bus: MemoryBus, user_id: UUID
) -> tuple[AsyncIterator[PublishedEvent], int]:
    """A follow() that is past its replay (a first event delivered live); that event's id."""
    stream = live.follow(bus=bus, feed=Feed(user_id=user_id), after=0, max_queue=100)
    first = asyncio.ensure_future(anext(stream))
    marker = await log(runtime, bus, user_id, 0)
    assert (await asyncio.wait_for(first, 10)).id == marker.id
    return stream, marker.id


async def test_a_lower_id_committed_after_a_higher_one_is_still_delivered_once(
    app: Starlette, runtime: Runtime
) -> None:
    # given a live subscriber
    bus, held = MemoryBus(), Held()
    user_id = uuid.uuid4()
    stream, _ = await live_stream(runtime, bus, user_id)
    # when two transactions commit in the opposite order of their ids
    low = await log(runtime, held, user_id, 1)
    high = await log(runtime, held, user_id, 2)
    bus.deliver([high])
    bus.deliver([low])
    # and both are echoed again, then a new event follows
    bus.deliver([high, low])
    sentinel = await log(runtime, bus, user_id, 3)

    got = [(await asyncio.wait_for(anext(stream), 10)).id for _ in range(3)]
    await stream.aclose()  # type: ignore[attr-defined]

    # then each arrives once, in the order they became visible
    assert got == [high.id, low.id, sentinel.id]


async def test_a_resync_fills_the_gap_from_the_log_without_repeating(
    app: Starlette, runtime: Runtime
) -> None:
    # given a live subscriber, and three events the bus dropped (published nowhere)
    bus, held = MemoryBus(), Held()
    user_id = uuid.uuid4()
    stream, _ = await live_stream(runtime, bus, user_id)
    dropped = [await log(runtime, held, user_id, i) for i in (1, 2, 3)]

    # when the bus says it may have missed something, and later echoes one of them anyway
    bus.resync(None, "test: bus reconnected")
    refilled = [(await asyncio.wait_for(anext(stream), 10)).id for _ in range(3)]
    bus.deliver([dropped[1]])
    sentinel = await log(runtime, bus, user_id, 4)
    after = (await asyncio.wait_for(anext(stream), 10)).id
    await stream.aclose()  # type: ignore[attr-defined]

    # then the three come from the log in order, and nothing is delivered twice
    assert refilled == [e.id for e in dropped]
    assert after == sentinel.id
