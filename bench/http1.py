"""A minimal keep-alive HTTP/1.1 client for generating load.

httpx costs the load generator about a millisecond of CPU per request: at concurrency 32 it
saturates a core near 600 requests/s, below what the verify-only webhook endpoint serves, so
the comparison would measure the client. This client writes a prepared request and reads a
``Content-Length`` response (what uvicorn sends for these endpoints) on one connection per
worker, at a fraction of that cost. It is for benchmarks only: no TLS, redirects or chunked
bodies.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from urllib.parse import urlsplit


@dataclass(frozen=True, slots=True)
class Response:
    status_code: int
    content: bytes


class Connection:
    """One persistent connection; requests on it are sent one after another."""

    def __init__(self, base_url: str) -> None:
        parts = urlsplit(base_url)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 80
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def request(self, method: str, path: str, headers: dict[str, str],
                      body: bytes = b"") -> Response:
        if self._writer is None:
            self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
        assert self._reader is not None
        lines = [f"{method} {path} HTTP/1.1", f"host: {self.host}:{self.port}",
                 f"content-length: {len(body)}", *(f"{k}: {v}" for k, v in headers.items())]
        self._writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        head = await self._reader.readuntil(b"\r\n\r\n")
        status_line, _, header_block = head.partition(b"\r\n")
        length, close = 0, False
        for line in header_block.split(b"\r\n"):
            name, _, value = line.partition(b":")
            lowered = name.strip().lower()
            if lowered == b"content-length":
                length = int(value)
            elif lowered == b"connection" and value.strip().lower() == b"close":
                close = True
        content = await self._reader.readexactly(length) if length else b""
        if close:
            await self.close()
        return Response(int(status_line.split(b" ", 2)[1]), content)

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(ConnectionError, OSError):
                await self._writer.wait_closed()
        self._reader = self._writer = None
