"""The Redis event bus (``redis.asyncio`` pub/sub): committed events reach every process.

Fan-out is one channel per user (``{prefix}live:u:{user_id}``). A process subscribes only to the
channels of users who have a subscriber on it, so Redis sends an event only to the processes
that need it and a publish is one PUBLISH however many processes run. (One channel for all
events would ship every event to every process; one channel per process would make publishers
track where each user is connected.) A process hands its own events to its own listeners
directly and ignores their echo.

Redis is only a doorbell; the event log is the truth. While Redis is down the process keeps
serving: ``publish`` appends to a bounded outbox and never waits on the network, failed
publishes are logged and their users remembered, local listeners re-read the log every few
seconds, and once the subscription is back every listener re-reads the log from the last id it
delivered. Users whose events could not be published get a resync message when Redis returns.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

import orjson
from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from domain.live import Resync
from domain.ports import PublishedEvent
from providers.bus_memory import MemoryBus, MemoryListener

logger = logging.getLogger("callfluently.bus")

PUBLISH_BATCH = 500
MAX_DIRTY_USERS = 10_000
STOP_TIMEOUT_S = 5.0


def _honour_cancellation() -> None:
    """Re-raise a cancellation that a library swallowed.

    On Python 3.11 ``asyncio.wait_for`` (which redis-py uses around socket writes) drops a
    cancellation that races with the write completing, so a loop would run on after ``stop``.
    """
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


@dataclass(frozen=True, slots=True)
class Backoff:
    """Exponential reconnect delays with jitter, capped."""

    first_s: float = 0.1
    max_s: float = 5.0

    def delay(self, attempt: int) -> float:
        grown = self.first_s * float(2 ** min(attempt, 16))
        return min(self.max_s, grown) * random.uniform(0.5, 1.0)


class RedisListener:
    """A local listener whose ``ready`` waits for this process's Redis subscription."""

    def __init__(self, bus: RedisBus, inner: MemoryListener) -> None:
        self._bus = bus
        self._inner = inner

    def __aiter__(self) -> AsyncIterator[PublishedEvent | Resync]:
        return self._inner.__aiter__()

    async def ready(self) -> None:
        await self._bus.wait_subscribed(self._inner.user_id)

    async def close(self) -> None:
        await self._inner.close()


class RedisBus:
    """Publishes to per-user channels; subscribes to the users listening on this process."""

    def __init__(
        self,
        url: str,
        *,
        prefix: str = "cf:",
        outbox_size: int = 10_000,
        backoff: Backoff | None = None,
        outage_poll_s: float = 2.0,
        ready_timeout_s: float = 2.0,
    ) -> None:
        self._url = url
        self._prefix = prefix
        self._control = f"{prefix}live:control"
        self._origin = uuid4().hex
        self._local = MemoryBus(on_idle=self._on_idle)
        self._backoff = backoff or Backoff()
        self._outbox_size = outbox_size
        self._outage_poll_s = outage_poll_s
        self._ready_timeout_s = ready_timeout_s
        self._client: Redis | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self.connected = False
        self._confirmed: set[str] = set()
        self._initial: set[str] = set()
        self._waiters: dict[str, list[asyncio.Future[None]]] = {}
        self._late: set[str] = set()
        self._commands: asyncio.Queue[tuple[str, str]] = asyncio.Queue()
        self._outbox: deque[tuple[UUID, bytes]] = deque()
        self._outbox_wake = asyncio.Event()
        self._dirty: set[UUID] = set()
        self._dirty_all = False

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        """Start the background tasks; Redis need not be up (they keep retrying)."""
        self._client = Redis.from_url(
            self._url, socket_connect_timeout=2, socket_timeout=5, socket_keepalive=True,
            health_check_interval=10, retry=Retry(NoBackoff(), 0),
        )
        for name, job in (("subscriber", self._subscribe_forever()),
                          ("publisher", self._publish_forever()),
                          ("outage-poll", self._poll_during_outage())):
            self._tasks.append(asyncio.create_task(job, name=f"bus-redis-{name}"))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        if self._tasks:
            _, stuck = await asyncio.wait(self._tasks, timeout=STOP_TIMEOUT_S)
            if stuck:
                logger.warning("Redis bus tasks did not stop in time",
                               extra={"tasks": sorted(t.get_name() for t in stuck)})
        self._tasks.clear()
        await self._local.stop()
        if self._client is not None:
            with contextlib.suppress(RedisError, OSError):
                await self._client.aclose()

    # -- publishing --------------------------------------------------------------------------

    async def publish(self, events: list[PublishedEvent]) -> None:
        """Deliver locally now; queue for Redis (never waits on the network)."""
        self._local.deliver(events)
        for event in events:
            if len(self._outbox) >= self._outbox_size:
                dropped_user, _ = self._outbox.popleft()
                self._mark_dirty(dropped_user)
            self._outbox.append((event.user_id, self._encode(event)))
        self._outbox_wake.set()

    async def _publish_forever(self) -> None:
        attempt = 0
        while True:
            await self._outbox_wake.wait()
            self._outbox_wake.clear()
            while self._outbox or self._dirty or self._dirty_all:
                batch = [self._outbox.popleft()
                         for _ in range(min(PUBLISH_BATCH, len(self._outbox)))]
                try:
                    await self._send(batch)
                    _honour_cancellation()
                    attempt = 0
                except Exception as exc:  # Redis down or a bug: the log still has the events
                    for user_id, _ in batch:
                        self._mark_dirty(user_id)
                    if attempt == 0:
                        logger.warning(
                            "publishing events to Redis failed; subscribers recover from the log",
                            extra={"error": type(exc).__name__, "events": len(batch)},
                        )
                    await asyncio.sleep(self._backoff.delay(attempt))
                    attempt += 1

    async def _send(self, batch: list[tuple[UUID, bytes]]) -> None:
        assert self._client is not None
        dirty, dirty_all = set(self._dirty), self._dirty_all
        resync = orjson.dumps({"o": self._origin, "resync": True})
        async with self._client.pipeline(transaction=False) as pipe:
            for channel in [self._control] if dirty_all else map(self._channel, dirty):
                pipe.publish(channel, resync)
            for user_id, data in batch:
                pipe.publish(self._channel(user_id), data)
            await pipe.execute()
        self._dirty.difference_update(dirty)
        if dirty_all:
            self._dirty_all = False

    def _mark_dirty(self, user_id: UUID) -> None:
        if self._dirty_all or len(self._dirty) >= MAX_DIRTY_USERS:
            self._dirty_all = True
            self._dirty.clear()
        else:
            self._dirty.add(user_id)

    # -- listening ---------------------------------------------------------------------------

    def listen(self, user_id: UUID, *, max_queue: int = 1000) -> RedisListener:
        first = not self._local.has_listeners(user_id)
        inner = self._local.listen(user_id, max_queue=max_queue)
        if first:
            self._commands.put_nowait(("subscribe", self._channel(user_id)))
        return RedisListener(self, inner)

    def _on_idle(self, user_id: UUID) -> None:
        channel = self._channel(user_id)
        self._confirmed.discard(channel)
        self._commands.put_nowait(("unsubscribe", channel))

    async def wait_subscribed(self, user_id: UUID) -> None:
        """Until the user's channel is subscribed; at once while Redis is down (a resync
        follows the reconnect), and a late subscription triggers a resync too."""
        channel = self._channel(user_id)
        if not self.connected or channel in self._confirmed:
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.setdefault(channel, []).append(future)
        try:
            await asyncio.wait_for(future, self._ready_timeout_s)
        except TimeoutError:
            self._late.add(channel)
            logger.warning("Redis subscription slow to confirm", extra={"channel": channel})

    async def _subscribe_forever(self) -> None:
        attempt = 0
        while True:
            assert self._client is not None
            pubsub = self._client.pubsub()
            was_connected = False
            try:
                await self._serve(pubsub)
            except (RedisError, OSError) as exc:
                logger.warning("Redis bus subscription lost; retrying",
                               extra={"error": type(exc).__name__, "attempt": attempt})
            except Exception:  # a bug must not end the subscription for good
                logger.exception("Redis bus subscriber failed; retrying")
            finally:
                was_connected = self.connected
                self.connected = False
                self._confirmed.clear()
                self._release_waiters()
                with contextlib.suppress(RedisError, OSError, RuntimeError):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]
            _honour_cancellation()
            if was_connected:
                attempt = 0
            await asyncio.sleep(self._backoff.delay(attempt))
            attempt += 1

    async def _serve(self, pubsub: PubSub) -> None:
        while not self._commands.empty():  # the full subscribe below supersedes them
            self._commands.get_nowait()
        channels = [self._control, *map(self._channel, self._local.user_ids)]
        self._initial = set(channels)
        await pubsub.subscribe(*channels)
        _honour_cancellation()
        reader = asyncio.create_task(self._read(pubsub))
        commander = asyncio.create_task(self._run_commands(pubsub))
        try:
            done, _ = await asyncio.wait({reader, commander},
                                         return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                task.result()
        finally:
            for task in (reader, commander):
                task.cancel()
            await asyncio.gather(reader, commander, return_exceptions=True)

    async def _run_commands(self, pubsub: PubSub) -> None:
        while True:
            command, channel = await self._commands.get()
            if command == "subscribe":
                await pubsub.subscribe(channel)
            else:
                await pubsub.unsubscribe(channel)
            _honour_cancellation()

    async def _read(self, pubsub: PubSub) -> None:
        while True:
            message = await pubsub.get_message(timeout=1.0)
            _honour_cancellation()
            if message is not None:
                self._handle(message)

    def _handle(self, message: dict[str, Any]) -> None:
        kind, raw = message.get("type"), message.get("channel")
        if not isinstance(raw, bytes):  # a pong or something else without a channel
            return
        channel = raw.decode()
        if kind == "message":
            self._on_message(channel, message["data"])
        elif kind == "subscribe":
            self._confirmed.add(channel)
            if channel in self._initial:
                self._initial.discard(channel)
                if not self._initial:
                    self.connected = True
                    logger.info("Redis bus subscribed", extra={"users": len(self._confirmed) - 1})
                    self._local.resync(None, "bus connected")
                    self._release_waiters()
                return
            for future in self._waiters.pop(channel, []):
                if not future.done():
                    future.set_result(None)
            if channel in self._late:
                self._late.discard(channel)
                self._local.resync(frozenset({self._user_of(channel)}), "late subscription")
        elif kind == "unsubscribe":
            self._confirmed.discard(channel)

    def _on_message(self, channel: str, data: bytes) -> None:
        try:
            body = orjson.loads(data)
            if body.get("o") == self._origin:
                return
            if body.get("resync"):
                users = None if channel == self._control else frozenset({self._user_of(channel)})
                self._local.resync(users, "publisher recovered")
                return
            event = self._decode(body)
        except (ValueError, KeyError, TypeError):
            logger.warning("undecodable bus message ignored", extra={"channel": channel})
            return
        self._local.deliver([event])

    async def _poll_during_outage(self) -> None:
        """While the subscription is down, listeners re-read the log instead of waiting."""
        while True:
            await asyncio.sleep(self._outage_poll_s)
            if not self.connected:
                self._local.resync(None, "bus down: polling the log")

    def _release_waiters(self) -> None:
        for futures in self._waiters.values():
            for future in futures:
                if not future.done():
                    future.set_result(None)
        self._waiters.clear()

    # -- wire format -------------------------------------------------------------------------

    def _channel(self, user_id: UUID) -> str:
        return f"{self._prefix}live:u:{user_id}"

    def _user_of(self, channel: str) -> UUID:
        return UUID(channel.rsplit(":", 1)[1])

    def _encode(self, event: PublishedEvent) -> bytes:
        return orjson.dumps({
            "o": self._origin, "id": event.id, "u": str(event.user_id),
            "c": str(event.call_id) if event.call_id else None, "t": event.type,
            "p": event.payload, "at": event.created_at.isoformat(),
        })

    @staticmethod
    def _decode(body: dict[str, Any]) -> PublishedEvent:
        return PublishedEvent(
            id=int(body["id"]), user_id=UUID(body["u"]),
            call_id=UUID(body["c"]) if body.get("c") else None, type=str(body["t"]),
            payload=dict(body["p"]), created_at=datetime.fromisoformat(body["at"]),
        )

    @property
    def listener_count(self) -> int:
        return self._local.listener_count
