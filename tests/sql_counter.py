"""Count the SQL statements one piece of code sends, on PostgreSQL and SQLite alike.

Tortoise sends every statement through a handful of client methods (``execute_query``,
``execute_query_dict``, ``execute_insert``, ``execute_many``, ``execute_script``). They are
wrapped once, process-wide; a statement is recorded only while a ``count_sql()`` block is active
in the current task's context, so the background job worker and other requests are not counted.
Tasks created inside the block (DataLoader batches, ``asyncio.gather``) inherit the context and
are counted, and an in-process ASGI request (httpx ``ASGITransport``) runs in the caller's task.

    with count_sql() as statements:
        await gql(client, DASHBOARD)
    assert len(statements) == 9, statements.sql
"""

from __future__ import annotations

import contextvars
import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

METHODS = ("execute_query", "execute_query_dict", "execute_insert", "execute_many",
           "execute_script")


@dataclass
class Statements:
    """The statements sent while counting, in order."""

    sql: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.sql)

    def matching(self, fragment: str) -> list[str]:
        return [s for s in self.sql if fragment.lower() in s.lower()]


_active: contextvars.ContextVar[Statements | None] = contextvars.ContextVar(
    "sql_counter", default=None
)
_depth: contextvars.ContextVar[int] = contextvars.ContextVar("sql_counter_depth", default=0)
_installed: set[type] = set()


def _wrap(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    async def counted(self: Any, query: str, *args: Any, **kwargs: Any) -> Any:
        statements = _active.get()
        # A wrapped method calling another wrapped one (a subclass override calling super())
        # is one statement: only the outermost call records it.
        if statements is not None and not _depth.get():
            statements.sql.append(query)
        token = _depth.set(1)
        try:
            return await method(self, query, *args, **kwargs)
        finally:
            _depth.reset(token)

    return counted


def _subclasses(cls: type) -> Iterator[type]:
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def install() -> None:
    """Wrap the statement methods of every loaded Tortoise client class (idempotent)."""
    for cls in [BaseDBAsyncClient, *_subclasses(BaseDBAsyncClient)]:
        if cls in _installed:
            continue
        for name in METHODS:
            method = cls.__dict__.get(name)
            if method is not None and callable(method):
                setattr(cls, name, _wrap(method))
        _installed.add(cls)


@contextmanager
def count_sql() -> Iterator[Statements]:
    """Record the statements the current task (and tasks it starts) sends until the block ends."""
    install()
    statements = Statements()
    token = _active.set(statements)
    try:
        yield statements
    finally:
        _active.reset(token)
