"""Login throttling per account and per IP, in the database so every process agrees.

Five failures per account (twenty per IP, which many learners may share behind one NAT) are
free; each further failure locks the key for 2^(n-free) seconds, capped at 15 minutes.
A success clears the account's counter (not the IP's: one good password must not
unlock a spraying IP).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from tortoise.expressions import F

from db.models.accounts import LoginThrottle

FREE_FAILURES = 5
FREE_FAILURES_PER_IP = 20
MAX_LOCK = timedelta(minutes=15)


def account_key(email: str) -> str:
    return f"account:{email}"


def ip_key(ip: str | None) -> str:
    return f"ip:{ip or 'unknown'}"


async def locked_for(keys: list[str], now: datetime) -> timedelta | None:
    """How long the longest lock on ``keys`` still lasts, or None when none is locked."""
    rows = await LoginThrottle.filter(key__in=keys, locked_until__gt=now)
    if not rows:
        return None
    return max(r.locked_until for r in rows if r.locked_until) - now


async def record_failure(keys: list[str], now: datetime) -> None:
    for key in keys:
        await LoginThrottle.get_or_create(key=key)
        await LoginThrottle.filter(key=key).update(failures=F("failures") + 1)
        row = await LoginThrottle.get(key=key)
        free = FREE_FAILURES_PER_IP if key.startswith("ip:") else FREE_FAILURES
        if row.failures >= free:
            delay = min(timedelta(seconds=2 ** (row.failures - free)), MAX_LOCK)
            await LoginThrottle.filter(key=key).update(locked_until=now + delay)


async def clear(key: str) -> None:
    await LoginThrottle.filter(key=key).delete()
