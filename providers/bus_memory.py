"""The in-process event bus: the embedded default for a single process.

The Redis bus reuses it for the fan-out to this process's own listeners.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict, deque
from collections.abc import AsyncIterator, Callable
from uuid import UUID

from domain.live import Resync, SlowConsumer
from domain.ports import PublishedEvent


class MemoryListener:
    """A bounded queue of one user's events; overflow disconnects instead of growing.

    Not an ``asyncio.Queue``: an idle subscription holds one of these for hours, and a queue
    is three deques (~2 KB) before anything is queued. This keeps a deque only while items
    wait and a single future while the reader waits (bench/README.md, fan-out memory).
    """

    __slots__ = ("_bus", "_items", "_max", "_resync_pending", "_waiter", "overflowed", "user_id")

    def __init__(self, bus: MemoryBus, user_id: UUID, max_queue: int) -> None:
        self._bus = bus
        self.user_id = user_id
        self._max = max_queue
        self._items: deque[PublishedEvent | Resync | None] | None = None
        self._waiter: asyncio.Future[None] | None = None
        self.overflowed = False
        self._resync_pending = False

    def _put(self, item: PublishedEvent | Resync | None) -> bool:
        """Queue ``item`` and wake the reader; False when the queue is full."""
        items = self._items
        if items is None:
            items = self._items = deque()
        if 0 < self._max <= len(items):
            return False
        items.append(item)
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
        return True

    async def _get(self) -> PublishedEvent | Resync | None:
        while not self._items:
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        item = self._items.popleft()
        if not self._items:
            self._items = None  # nothing waits: hold no deque while idle
        return item

    def offer(self, event: PublishedEvent) -> None:
        if not self._put(event):
            self._overflow()

    def offer_resync(self, reason: str) -> None:
        """Ask the reader to re-read the log; one pending request covers any number."""
        if self._resync_pending or self.overflowed:
            return
        if self._put(Resync(reason)):
            self._resync_pending = True
        else:
            self._overflow()

    def _overflow(self) -> None:
        # Drop everything still queued: the reader stops at the last event it actually took,
        # so the id it reports is a cursor with no gap behind it.
        self.overflowed = True
        self._bus.detach(self)
        self._items = None
        self._put(None)

    def _wake_for_close(self) -> None:
        # Make room for the end marker so the reader wakes and sees the overflow.
        while not self._put(None):
            assert self._items is not None
            self._items.popleft()

    async def __aiter__(self) -> AsyncIterator[PublishedEvent | Resync]:
        while True:
            item = await self._get()
            if item is None:
                if self.overflowed:
                    raise SlowConsumer("subscriber queue overflowed")
                return
            if isinstance(item, Resync):
                self._resync_pending = False
            yield item

    async def ready(self) -> None:
        return None

    async def close(self) -> None:
        self._bus.detach(self)
        self._wake_for_close()


class MemoryBus:
    """Delivers each published event to this process's listeners for its user.

    ``on_idle`` is told when the last listener of a user leaves (the Redis bus unsubscribes).
    """

    def __init__(self, on_idle: Callable[[UUID], None] | None = None) -> None:
        self._listeners: defaultdict[UUID, set[MemoryListener]] = defaultdict(set)
        self._on_idle = on_idle

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        for listeners in list(self._listeners.values()):
            for listener in list(listeners):
                await listener.close()

    async def publish(self, events: list[PublishedEvent]) -> None:
        self.deliver(events)

    def deliver(self, events: list[PublishedEvent]) -> None:
        for event in events:
            for listener in list(self._listeners.get(event.user_id, ())):
                listener.offer(event)

    def resync(self, user_ids: frozenset[UUID] | None, reason: str) -> None:
        """Tell these users' listeners (None: everyone's) to re-read the log."""
        targets = self._listeners.keys() if user_ids is None else user_ids
        for user_id in list(targets):
            for listener in list(self._listeners.get(user_id, ())):
                listener.offer_resync(reason)

    def listen(self, user_id: UUID, *, max_queue: int = 1000) -> MemoryListener:
        listener = MemoryListener(self, user_id, max_queue)
        self._listeners[user_id].add(listener)
        return listener

    def detach(self, listener: MemoryListener) -> None:
        group = self._listeners.get(listener.user_id)
        if group is not None and listener in group:
            group.discard(listener)
            if not group:
                self._listeners.pop(listener.user_id, None)
                if self._on_idle is not None:
                    self._on_idle(listener.user_id)

    def has_listeners(self, user_id: UUID) -> bool:
        return user_id in self._listeners

    @property
    def user_ids(self) -> frozenset[UUID]:
        return frozenset(self._listeners)

    @property
    def listener_count(self) -> int:
        return sum(len(group) for group in self._listeners.values())
