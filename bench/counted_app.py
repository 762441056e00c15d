"""The service, exactly as ``main.py serve`` builds it, reporting the SQL statements each HTTP
request sent in an ``X-SQL-Statements`` response header.

Counting happens inside the server, around the whole request (authentication, resolvers and
their DataLoader batches, the rate limiter), with the same Tortoise client wrapper the tests use
(``tests/sql_counter.py``). Only the statement-count benchmark runs this process; the throughput
benchmarks run the plain service, so the wrapper costs them nothing.

    python -m bench.counted_app --port 8123
"""

from __future__ import annotations

import argparse
import os
import secrets
from typing import Any

import uvicorn

import main
from tests.sql_counter import count_sql

HEADER = b"x-sql-statements"


class CountStatements:
    """ASGI middleware: count each HTTP request's statements and report them in a header."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        with count_sql() as statements:

            async def send_counted(message: dict[str, Any]) -> None:
                if message["type"] == "http.response.start":
                    headers = [*message.get("headers", []), (HEADER, b"%d" % len(statements))]
                    message = {**message, "headers": headers}
                await send(message)

            await self.app(scope, receive, send_counted)


app = CountStatements(main.app)


def run() -> None:
    parser = argparse.ArgumentParser(prog="bench.counted_app")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8123)
    args = parser.parse_args()
    os.environ.setdefault("PUBLIC_BASE_URL", f"http://{args.host}:{args.port}")
    os.environ.setdefault("JWT_SECRET", secrets.token_urlsafe(32))
    uvicorn.run("bench.counted_app:app", host=args.host, port=args.port,
                ws="websockets-sansio", ws_per_message_deflate=False, log_config=None)


if __name__ == "__main__":
    run()
