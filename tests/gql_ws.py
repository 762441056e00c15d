"""A small graphql-transport-ws client for tests: in-process (httpx-ws ASGI transport) or
against a running server (httpx-ws over TCP). It answers server pings with pongs."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from typing import Any

import anyio
import httpx
from httpx_ws import AsyncWebSocketSession, WebSocketDisconnect, aconnect_ws
from httpx_ws.transport import ASGIWebSocketTransport
from starlette.types import ASGIApp

from tests.conftest import BASE_URL

PROTOCOL = "graphql-transport-ws"

MY_EVENTS = """
subscription MyEvents($after: String) {
  myEvents(after: $after) {
    __typename eventId at
    ... on CallEvent { callId }
    ... on CallStatusChanged { status previousStatus endedReason }
    ... on TranscriptLine { role text final seq }
    ... on CallEnded { status endedReason durationSeconds chargeMinor currency }
    ... on AnalysisReady {
      analysisId analysisStatus cefrLevel scores { grammar vocabulary fluency pronunciation }
    }
    ... on BalanceChanged { amountMinor currency deltaMinor kind }
    ... on PrivacyRequestUpdated { requestId requestKind requestStatus }
  }
}
"""

CALL_UPDATES = """
subscription CallUpdates($callId: ID!, $after: String) {
  callUpdates(callId: $callId, after: $after) {
    __typename eventId at callId
    ... on CallStatusChanged { status previousStatus endedReason }
    ... on TranscriptLine { role text final seq }
    ... on CallEnded { status endedReason durationSeconds chargeMinor currency }
    ... on AnalysisReady {
      analysisStatus cefrLevel scores { grammar vocabulary fluency pronunciation }
    }
  }
}
"""


class GqlWs:
    """One graphql-transport-ws connection."""

    def __init__(self, ws: AsyncWebSocketSession) -> None:
        self.ws = ws
        self.pings = 0

    async def init(self, payload: dict[str, Any] | None = None) -> dict[str, Any]:
        await self.ws.send_json({"type": "connection_init", "payload": payload or {}})
        return await self.receive()

    async def subscribe(self, query: str, variables: dict[str, Any] | None = None) -> str:
        op_id = uuid.uuid4().hex[:8]
        await self.ws.send_json({"id": op_id, "type": "subscribe",
                                 "payload": {"query": query, "variables": variables or {}}})
        return op_id

    async def complete(self, op_id: str) -> None:
        await self.ws.send_json({"id": op_id, "type": "complete"})

    async def receive(self, timeout: float = 10.0) -> dict[str, Any]:
        """The next protocol message other than a ping (pings are answered)."""
        while True:
            message: dict[str, Any] = await self.ws.receive_json(timeout=timeout)
            if message.get("type") == "ping":
                self.pings += 1
                await self.ws.send_json({"type": "pong"})
                continue
            return message

    async def next_data(self, op_id: str, timeout: float = 10.0) -> dict[str, Any]:
        """The payload of the next ``next`` message of ``op_id`` (fails on anything else)."""
        message = await self.receive(timeout)
        assert message.get("id") == op_id and message["type"] == "next", message
        payload: dict[str, Any] = message["payload"]
        return payload

    async def events(self, op_id: str, count: int, field: str,
                     timeout: float = 10.0) -> list[dict[str, Any]]:
        """The next ``count`` events of ``op_id`` (``field`` is the subscription's name)."""
        got = []
        for _ in range(count):
            payload = await self.next_data(op_id, timeout)
            assert "errors" not in payload, payload
            got.append(payload["data"][field])
        return got

    async def closed_with(self, timeout: float = 10.0) -> int:
        """Wait for the server to close the socket; its close code."""
        try:
            with anyio.fail_after(timeout):
                while True:
                    await self.receive(timeout)
        except WebSocketDisconnect as exc:
            return int(exc.code)


@contextlib.asynccontextmanager
async def connect(
    app: ASGIApp,
    *,
    cookies: httpx.Cookies | None = None,
    headers: dict[str, str] | None = None,
    subprotocols: list[str] | None = None,
) -> AsyncIterator[GqlWs]:
    """A WebSocket to ``/graphql`` of the in-process app."""
    async with ASGIWebSocketTransport(app=app) as transport, httpx.AsyncClient(
        transport=transport, base_url=BASE_URL, cookies=cookies
    ) as client, aconnect_ws(
        "/graphql", client, subprotocols=[PROTOCOL] if subprotocols is None else subprotocols,
        headers=headers or {},
    ) as ws:
        yield GqlWs(ws)


@contextlib.asynccontextmanager
async def connect_url(base_url: str, *, headers: dict[str, str] | None = None,
                      cookies: httpx.Cookies | None = None) -> AsyncIterator[GqlWs]:
    """A WebSocket to ``/graphql`` of a running server."""
    async with httpx.AsyncClient(base_url=base_url, cookies=cookies) as client, aconnect_ws(
        "/graphql", client, subprotocols=[PROTOCOL], headers=headers or {},
    ) as ws:
        yield GqlWs(ws)
