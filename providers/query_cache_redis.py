"""The APQ document cache in Redis, shared by every process, each entry kept for a TTL.

Redis trouble degrades to a cache miss (the client then sends the full document), never to an
error.
"""

from __future__ import annotations

import logging
from typing import Any

from redis.exceptions import RedisError

logger = logging.getLogger("callfluently.apq")


class RedisQueryCache:
    """Implements ``domain.persisted_queries.QueryCache`` on a ``redis.asyncio`` client."""

    def __init__(self, redis: Any, prefix: str, ttl_s: int) -> None:
        self._redis = redis
        self._prefix = f"{prefix}apq:"
        self._ttl_s = ttl_s

    async def get(self, sha256: str) -> str | None:
        try:
            value = await self._redis.get(self._prefix + sha256)
        except RedisError as exc:
            logger.warning("apq cache unavailable", extra={"error": type(exc).__name__})
            return None
        if value is None:
            return None
        return value.decode("utf-8") if isinstance(value, bytes) else str(value)

    async def put(self, sha256: str, document: str) -> None:
        try:
            await self._redis.set(self._prefix + sha256, document.encode("utf-8"), ex=self._ttl_s)
        except RedisError as exc:
            logger.warning("apq cache unavailable", extra={"error": type(exc).__name__})
