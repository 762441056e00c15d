"""Token buckets in Redis, so every process of the service draws from the same buckets.

One Lua script checks and takes from all of a request's buckets atomically: either each bucket
loses a token or none does. Buckets expire once they would be full again, so idle callers cost
no memory. When Redis cannot be reached the limiter fails open (and logs it): an outage of the
limiter must not become an outage of the API.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from redis.exceptions import RedisError

from domain.rate_limit import Bucket, Decision

logger = logging.getLogger("callfluently.rate_limit")

# KEYS: one per bucket. ARGV: now, then capacity and per-second rate for each bucket.
# Returns {0, index, wait_ms} when bucket ``index`` (1-based) is empty, else {1, 0, 0}.
_TAKE = """
local now = tonumber(ARGV[1])
local levels = {}
local worst, worst_wait = 0, -1
for i, key in ipairs(KEYS) do
  local capacity = tonumber(ARGV[2 * i])
  local rate = tonumber(ARGV[2 * i + 1])
  local state = redis.call('HMGET', key, 'tokens', 'ts')
  local tokens = tonumber(state[1]) or capacity
  local ts = tonumber(state[2]) or now
  tokens = math.min(capacity, tokens + math.max(0, now - ts) * rate)
  levels[i] = tokens
  if tokens < 1 then
    local wait = (1 - tokens) / rate
    if wait > worst_wait then worst, worst_wait = i, wait end
  end
end
if worst > 0 then return {0, worst, math.ceil(worst_wait * 1000)} end
for i, key in ipairs(KEYS) do
  local capacity = tonumber(ARGV[2 * i])
  local rate = tonumber(ARGV[2 * i + 1])
  local left = levels[i] - 1
  redis.call('HSET', key, 'tokens', tostring(left), 'ts', tostring(now))
  redis.call('PEXPIRE', key, math.ceil((capacity - left) / rate * 1000) + 1000)
end
return {1, 0, 0}
"""


class RedisRateLimiter:
    """Implements ``domain.rate_limit.RateLimiter`` on a ``redis.asyncio`` client."""

    def __init__(self, redis: Any, prefix: str) -> None:
        self._redis = redis
        self._prefix = f"{prefix}rl:"
        self._script = redis.register_script(_TAKE)

    async def take(self, buckets: list[Bucket], now: datetime) -> Decision:
        if not buckets:
            return Decision(allowed=True)
        args: list[float] = [now.timestamp()]
        for bucket in buckets:
            args += [bucket.capacity, bucket.per_second]
        try:
            allowed, index, wait_ms = await self._script(
                keys=[self._prefix + b.key for b in buckets], args=args
            )
        except RedisError as exc:
            logger.warning("rate limiter unavailable, allowing",
                           extra={"error": type(exc).__name__})
            return Decision(allowed=True)
        if int(allowed) == 1:
            return Decision(allowed=True)
        return Decision(allowed=False, retry_after_s=int(wait_ms) / 1000.0,
                        bucket=buckets[int(index) - 1])
