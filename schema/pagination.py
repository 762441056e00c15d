"""Relay cursor connections with keyset pagination (no OFFSET scans)."""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

import strawberry

T = TypeVar("T")

DEFAULT_PAGE = 20
MAX_PAGE = 100


@strawberry.type(description="Where a page sits in the whole list (Relay PageInfo).")
class PageInfo:
    has_next_page: bool = strawberry.field(description="More items follow this page.")
    has_previous_page: bool = strawberry.field(description="Items precede this page.")
    start_cursor: str | None = strawberry.field(description="Cursor of the first edge.")
    end_cursor: str | None = strawberry.field(
        description="Cursor of the last edge; pass as `after`."
    )


@strawberry.type(description="One item of a connection with its cursor.")
class Edge(Generic[T]):
    cursor: str = strawberry.field(description="Opaque position of this item.")
    node: T = strawberry.field(description="The item.")


@strawberry.type(description="A page of items (Relay connection).")
class Connection(Generic[T]):
    edges: list[Edge[T]] = strawberry.field(description="The items of this page, in order.")
    page_info: PageInfo = strawberry.field(description="Paging information.")


def encode_cursor(value: str) -> str:
    return base64.urlsafe_b64encode(value.encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> str | None:
    if not cursor:
        return None
    padded = cursor + "=" * (-len(cursor) % 4)
    try:
        return base64.urlsafe_b64decode(padded.encode()).decode()
    except (ValueError, UnicodeDecodeError):
        raise ValueError("Invalid cursor.") from None


def page_size(first: int | None) -> int:
    """The page size to fetch: default 20, at most 100, at least 1."""
    if first is None:
        return DEFAULT_PAGE
    if first < 1 or first > MAX_PAGE:
        raise ValueError(f"`first` must be between 1 and {MAX_PAGE}.")
    return first


def connection(
    rows: Sequence[T],
    *,
    size: int,
    cursor_of: Callable[[T], str],
    had_previous: bool,
) -> Connection[T]:
    """Build a connection from ``size + 1`` fetched rows (the extra one signals a next page)."""
    page = list(rows[:size])
    edges = [Edge(cursor=encode_cursor(cursor_of(row)), node=row) for row in page]
    return Connection(
        edges=edges,
        page_info=PageInfo(
            has_next_page=len(rows) > size,
            has_previous_page=had_previous,
            start_cursor=edges[0].cursor if edges else None,
            end_cursor=edges[-1].cursor if edges else None,
        ),
    )
