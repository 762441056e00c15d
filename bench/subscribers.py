"""Many graphql-transport-ws subscribers in one process (run by bench/fanout.py).

Reads a JSON plan on stdin: the WebSocket URL, one entry per subscriber (access token, and a
call id for ``callUpdates`` or none for ``myEvents``), and how many warm-up and measured events
each subscriber will get. Connects every subscriber (a batch at a time), then reports on stdout,
one JSON line each: ``ready`` (all subscribed), ``warm`` (every subscriber got its warm-up
events: every subscription is live), and the ``result``: the end-to-end latency of every
measured delivery, from the send time the sender wrote into the transcript text to the moment
the message arrived here. Sender and subscribers share the machine's clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import sys
import time
from dataclasses import dataclass, field
from typing import Any

import orjson
from websockets.asyncio.client import ClientConnection, connect

from bench.queries import CALL_UPDATES, MY_EVENTS

STAMP = re.compile(r"\[(warm|run) \d+\] \[t=(\d+)\]")
CONNECT_BATCH = 100


@dataclass
class Tally:
    warm_target: int
    run_target: int
    warm_done: asyncio.Event = field(default_factory=asyncio.Event)
    run_done: asyncio.Event = field(default_factory=asyncio.Event)
    expected: int = 0
    warm_complete: int = 0
    run_complete: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def emit(kind: str, **data: Any) -> None:
    sys.stdout.write(orjson.dumps({"kind": kind, **data}).decode() + "\n")
    sys.stdout.flush()


async def subscribe(url: str, spec: dict[str, Any]) -> ClientConnection:
    ws = await connect(url, subprotocols=["graphql-transport-ws"], ping_interval=None,
                       max_queue=64, open_timeout=60)  # type: ignore[list-item]
    await ws.send(orjson.dumps({"type": "connection_init",
                                "payload": {"authorization": f"Bearer {spec['token']}"}}).decode())
    ack = orjson.loads(await asyncio.wait_for(ws.recv(), 60))
    if ack.get("type") != "connection_ack":
        raise RuntimeError(f"not acknowledged: {ack}")
    if spec.get("call_id"):
        payload = {"query": CALL_UPDATES, "variables": {"callId": spec["call_id"]}}
    else:
        payload = {"query": MY_EVENTS, "variables": {}}
    await ws.send(orjson.dumps({"id": "1", "type": "subscribe", "payload": payload}).decode())
    return ws


async def listen(ws: ClientConnection, tally: Tally) -> None:
    warm = run = 0
    async for raw in ws:
        message = orjson.loads(raw)
        kind = message.get("type")
        if kind == "ping":
            await ws.send('{"type":"pong"}')
            continue
        if kind != "next":
            tally.errors.append(str(message)[:300])
            continue
        arrived = time.time_ns()
        data = message["payload"].get("data") or {}
        event = data.get("callUpdates") or data.get("myEvents") or {}
        found = STAMP.search(event.get("text") or "")
        if found is None:
            continue
        if found.group(1) == "warm":
            warm += 1
            if warm == tally.warm_target:
                tally.warm_complete += 1
                if tally.warm_complete >= tally.expected:
                    tally.warm_done.set()
        else:
            tally.latencies_ms.append((arrived - int(found.group(2))) / 1e6)
            run += 1
            if run == tally.run_target:
                tally.run_complete += 1
                if tally.run_complete >= tally.expected:
                    tally.run_done.set()


async def main() -> None:
    plan = orjson.loads(sys.stdin.readline())
    subs = plan["subscribers"]
    tally = Tally(warm_target=plan["warm_events"], run_target=plan["run_events"])
    sockets: list[ClientConnection] = []
    for start in range(0, len(subs), CONNECT_BATCH):
        batch = subs[start:start + CONNECT_BATCH]
        results = await asyncio.gather(*(subscribe(plan["url"], s) for s in batch),
                                       return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException):
                tally.errors.append(f"connect: {result!r}"[:300])
            else:
                sockets.append(result)
    tally.expected = len(sockets)
    readers = [asyncio.create_task(listen(ws, tally)) for ws in sockets]
    if tally.warm_target == 0:
        tally.warm_done.set()
    if tally.run_target == 0:
        tally.run_done.set()
    emit("ready", connected=len(sockets), failed=len(subs) - len(sockets))
    for phase, done, count in (("warm", tally.warm_done, lambda: tally.warm_complete),
                               ("run", tally.run_done, lambda: tally.run_complete)):
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(done.wait(), plan["timeout_s"])
        emit(phase, complete=count(), of=len(sockets))
        if phase == "warm":  # the sender measures memory, then says go
            await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    emit("result", latencies_ms=tally.latencies_ms, complete=tally.run_complete,
         errors=tally.errors[:20], error_count=len(tally.errors))
    for ws in sockets:
        await ws.close()
    for reader in readers:
        reader.cancel()
    await asyncio.gather(*readers, return_exceptions=True)


if __name__ == "__main__":
    asyncio.run(main())
