"""The Redis bus between "processes" (two buses in this process, as two workers would hold),
on a private ``redis-server`` that the outage test stops and starts again."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any
from uuid import UUID

import pytest
from starlette.applications import Starlette

from domain import live
from domain.live import EventType, Feed
from domain.ports import PublishedEvent
from domain.uow import Effects, UnitOfWork
from main import Runtime
from providers.bus_redis import Backoff, RedisBus
from tests.live_processes import RedisServer, private_redis, unique_prefix


@pytest.fixture
def redis() -> Iterator[RedisServer]:
    with private_redis() as server:
        yield server


async def until(check: Callable[[], bool], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("condition never held")
        await asyncio.sleep(0.02)


@pytest.fixture
async def buses(redis: RedisServer) -> AsyncIterator[tuple[RedisBus, RedisBus]]:
    """Two buses sharing Redis, as two processes would; both connected."""
    prefix = unique_prefix()
    fast = Backoff(first_s=0.05, max_s=0.3)
    pair = (RedisBus(redis.url, prefix=prefix, backoff=fast, outage_poll_s=0.2),
            RedisBus(redis.url, prefix=prefix, backoff=fast, outage_poll_s=0.2))
    for bus in pair:
        await bus.start()
    await until(lambda: all(bus.connected for bus in pair))
    yield pair
    for bus in pair:
        await bus.stop()


async def emit(runtime: Runtime, bus: RedisBus, user_id: UUID, amount: int) -> int:
    """Log a balance change in a transaction whose events are published on ``bus``."""
    async with UnitOfWork(Effects(publisher=bus, jobs=runtime.services.effects.jobs)) as uow:
        row = await uow.emit(user_id=user_id, type=EventType.BALANCE_CHANGED, payload={
            "amountMinor": amount, "currency": "USD", "deltaMinor": 1, "kind": "top_up"})
    return row.id


async def test_an_event_published_on_one_process_reaches_a_listener_on_the_other(
    app: Starlette, runtime: Runtime, buses: tuple[RedisBus, RedisBus]
) -> None:
    # given a listener for a user on process A, subscribed
    a, b = buses
    user_id = uuid.uuid4()
    listener = a.listen(user_id)
    await listener.ready()
    stream = aiter(listener)

    # when process B commits an event for that user (and one for someone else)
    await emit(runtime, b, uuid.uuid4(), 1)
    event_id = await emit(runtime, b, user_id, 2)

    # then A's listener gets exactly that event, through Redis
    got = await asyncio.wait_for(anext(stream), 10)
    await listener.close()
    assert isinstance(got, PublishedEvent)
    assert (got.id, got.user_id, got.type, got.payload) == (
        event_id, user_id, EventType.BALANCE_CHANGED,
        {"amountMinor": 2, "currency": "USD", "deltaMinor": 1, "kind": "top_up"})
    assert got.created_at.tzinfo is not None


async def test_redis_outage_loses_nothing_for_a_connected_subscriber(
    app: Starlette, runtime: Runtime, redis: RedisServer, buses: tuple[RedisBus, RedisBus]
) -> None:
    # given a subscriber on process A following a user's feed
    a, b = buses
    user_id = uuid.uuid4()
    received: list[int] = []

    async def consume() -> None:
        async for event in live.follow(bus=a, feed=Feed(user_id=user_id), after=0,
                                       max_queue=100):
            received.append(event.id)

    consumer = asyncio.create_task(consume())
    first = await emit(runtime, b, user_id, 1)
    await until(lambda: received == [first])

    # when Redis goes away, B keeps committing (publishing never blocks or fails the write)
    redis.stop()
    await until(lambda: not a.connected and not b.connected)
    during = [await emit(runtime, b, user_id, 2 + i) for i in range(3)]
    # then the subscriber still gets them, from the log
    await until(lambda: received == [first, *during])

    # and when Redis is back, both reconnect and live delivery resumes, nothing twice
    redis.start()
    await until(lambda: a.connected and b.connected)
    after = [await emit(runtime, b, user_id, 10 + i) for i in range(3)]
    await until(lambda: len(received) >= 7)
    consumer.cancel()
    await asyncio.gather(consumer, return_exceptions=True)
    assert received == [first, *during, *after]


async def test_a_bus_that_never_reached_redis_still_serves_its_own_process(
    app: Starlette, runtime: Runtime
) -> None:
    # given a bus whose Redis is not there at all
    bus = RedisBus(f"redis://127.0.0.1:{_closed_port()}/0", prefix=unique_prefix(),
                   backoff=Backoff(first_s=0.05, max_s=0.2), outage_poll_s=0.2)
    await bus.start()
    user_id = uuid.uuid4()
    listener = bus.listen(user_id)
    await listener.ready()
    stream: Any = aiter(listener)

    # when an event is committed on this process
    event_id = await emit(runtime, bus, user_id, 1)

    # then local subscribers still get it at once (and writes never waited on Redis)
    got = await asyncio.wait_for(anext(stream), 10)
    await bus.stop()
    assert isinstance(got, PublishedEvent) and got.id == event_id
    assert not bus.connected


def _closed_port() -> int:
    from tests.live_processes import free_port

    return free_port()
