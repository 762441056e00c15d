"""Time as a port, so schedules, retention and token expiry can be tested at any instant."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    """The real, timezone-aware UTC clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class ManualClock:
    """A clock that follows real time from an offset tests can move forward."""

    def __init__(self) -> None:
        self.offset = timedelta(0)
        self.frozen_at: datetime | None = None

    def now(self) -> datetime:
        return self.frozen_at or (datetime.now(UTC) + self.offset)

    def advance(self, delta: timedelta) -> None:
        if self.frozen_at is not None:
            self.frozen_at += delta
        else:
            self.offset += delta

    def freeze(self, at: datetime) -> None:
        self.frozen_at = at

    def unfreeze(self) -> None:
        self.frozen_at = None
