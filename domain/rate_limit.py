"""Request rate limits: one token bucket per learner, per API key and per IP address.

A bucket holds up to ``capacity`` requests and refills at ``per_second``; a request takes one
token from every bucket that applies to it and is refused when any of them is empty. The refusal
says how long until a token is back, so clients can honour ``Retry-After`` instead of hammering.
Buckets live in memory for a single process, or in Redis (``providers/rate_limit_redis.py``) so
that every process of the service shares them.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Bucket:
    """One bucket to draw from: ``key`` names it (e.g. ``ip:198.51.100.7``), ``kind`` its family."""

    key: str
    kind: str
    capacity: int
    per_second: float

    @classmethod
    def per_minute(cls, kind: str, ident: str, per_minute: int) -> Bucket:
        """A bucket that allows ``per_minute`` requests at once and refills them over a minute."""
        return cls(key=f"{kind}:{ident}", kind=kind, capacity=max(1, per_minute),
                   per_second=max(1, per_minute) / 60.0)


@dataclass(frozen=True, slots=True)
class Decision:
    """Whether the request may run; when not, which bucket refused and for how long."""

    allowed: bool
    retry_after_s: float = 0.0
    bucket: Bucket | None = None

    @property
    def retry_after_seconds(self) -> int:
        """Whole seconds to wait (at least one), for ``Retry-After``."""
        return max(1, math.ceil(self.retry_after_s))


class RateLimiter(Protocol):
    async def take(self, buckets: list[Bucket], now: datetime) -> Decision:
        """Take one token from each bucket, or none at all when any of them is empty."""
        ...


def refill(tokens: float, last: float, now: float, bucket: Bucket) -> float:
    """Tokens in ``bucket`` at ``now`` given ``tokens`` at ``last`` (seconds since the epoch)."""
    return min(float(bucket.capacity), tokens + max(0.0, now - last) * bucket.per_second)


def wait_for_one(tokens: float, bucket: Bucket) -> float:
    """Seconds until ``bucket`` holds a whole token again."""
    return max(0.0, (1.0 - tokens) / bucket.per_second)


class MemoryRateLimiter:
    """Buckets in this process only: right for one process, and for tests.

    At most ``max_keys`` buckets are kept; the least recently used are forgotten first, which at
    worst gives a forgotten caller a full bucket again.
    """

    def __init__(self, max_keys: int = 100_000) -> None:
        self.max_keys = max_keys
        self._state: OrderedDict[str, tuple[float, float]] = OrderedDict()

    async def take(self, buckets: list[Bucket], now: datetime) -> Decision:
        t = now.timestamp()
        levels = []
        for bucket in buckets:
            tokens, last = self._state.get(bucket.key, (float(bucket.capacity), t))
            levels.append(refill(tokens, last, t, bucket))
        refused = [(wait_for_one(level, bucket), bucket)
                   for level, bucket in zip(levels, buckets, strict=True) if level < 1]
        if refused:
            wait, bucket = max(refused, key=lambda r: r[0])
            return Decision(allowed=False, retry_after_s=wait, bucket=bucket)
        for level, bucket in zip(levels, buckets, strict=True):
            self._state[bucket.key] = (level - 1.0, t)
            self._state.move_to_end(bucket.key)
        while len(self._state) > self.max_keys:
            self._state.popitem(last=False)
        return Decision(allowed=True)
