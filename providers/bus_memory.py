"""The in-process event bus: the embedded default for a single process."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import AsyncIterator
from uuid import UUID

from domain.live import SlowConsumer
from domain.ports import PublishedEvent


class MemoryListener:
    """A bounded queue of one user's events; overflow disconnects instead of growing."""

    def __init__(self, bus: MemoryBus, user_id: UUID, max_queue: int) -> None:
        self._bus = bus
        self.user_id = user_id
        self.queue: asyncio.Queue[PublishedEvent | None] = asyncio.Queue(max_queue)
        self.overflowed = False

    def offer(self, event: PublishedEvent) -> None:
        try:
            self.queue.put_nowait(event)
        except asyncio.QueueFull:
            self.overflowed = True
            self._bus.detach(self)
            self._wake_for_close()

    def _wake_for_close(self) -> None:
        # Make room for the end marker so the reader wakes and sees the overflow.
        while True:
            try:
                self.queue.put_nowait(None)
                return
            except asyncio.QueueFull:
                self.queue.get_nowait()

    async def __aiter__(self) -> AsyncIterator[PublishedEvent]:
        while True:
            item = await self.queue.get()
            if item is None:
                if self.overflowed:
                    raise SlowConsumer("subscriber queue overflowed")
                return
            yield item

    async def close(self) -> None:
        self._bus.detach(self)
        self._wake_for_close()


class MemoryBus:
    """Delivers each published event to this process's listeners for its user."""

    def __init__(self) -> None:
        self._listeners: defaultdict[UUID, set[MemoryListener]] = defaultdict(set)

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

    def listen(self, user_id: UUID, *, max_queue: int = 1000) -> MemoryListener:
        listener = MemoryListener(self, user_id, max_queue)
        self._listeners[user_id].add(listener)
        return listener

    def detach(self, listener: MemoryListener) -> None:
        group = self._listeners.get(listener.user_id)
        if group is not None:
            group.discard(listener)
            if not group:
                self._listeners.pop(listener.user_id, None)

    @property
    def listener_count(self) -> int:
        return sum(len(group) for group in self._listeners.values())
