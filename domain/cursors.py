"""Keyset cursors for newest-first lists: the last row's timestamp and its id as tie-breaker."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, Self, TypeVar

K = TypeVar("K")


@dataclass(frozen=True, slots=True)
class TimeCursor(Generic[K]):
    """A position in a list ordered by a timestamp, ties broken by the row's id."""

    at: datetime
    key: K

    def encode(self) -> str:
        return f"{self.at.isoformat()}|{self.key}"

    @classmethod
    def parse(cls, value: str, key: Callable[[str], K]) -> Self:
        """Raises ValueError for anything ``encode`` did not write."""
        stamp, _, raw_key = value.partition("|")
        at = datetime.fromisoformat(stamp)
        if at.tzinfo is None:
            raise ValueError("cursor time has no timezone")
        return cls(at, key(raw_key))
