"""Login throttling per account and per IP, in the database so every process agrees.

Five failures per account (twenty per IP, which many learners may share behind one NAT) are
free; each further failure locks the key for 2^(n-free) seconds, capped at 15 minutes.
A success clears the account's counter (not the IP's: one good password must not
unlock a spraying IP).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from tortoise.expressions import F, Q

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


async def reserve(keys: list[str], now: datetime) -> timedelta | None:
    """Count this attempt as a failure on every key *before* the password is checked.

    Returns None when the attempt may go ahead, else how long the lock lasts. Each key is taken
    by a conditional UPDATE (compare-and-set on the counter), so N concurrent guesses evaluate at
    most the allowed number: checking the lock first and recording the failure after the 250 ms
    bcrypt check let 60 parallel guesses through (issue 13, finding 3). A success gives the
    attempt back (``clear`` for the account, ``give_back`` for the IP).
    """
    taken: list[str] = []
    for key in keys:
        if not await _take(key, now):
            for done in taken:
                await give_back(done)
            return await locked_for(keys, now) or timedelta(seconds=1)
        taken.append(key)
    return None


async def _take(key: str, now: datetime) -> bool:
    free = FREE_FAILURES_PER_IP if key.startswith("ip:") else FREE_FAILURES
    await LoginThrottle.get_or_create(key=key)
    unlocked = Q(locked_until=None) | Q(locked_until__lte=now)
    for _ in range(5):  # a lost compare-and-set means another attempt moved the counter
        row = await LoginThrottle.get(key=key)
        if row.locked_until is not None and row.locked_until > now:
            return False
        n = row.failures + 1
        lock = min(timedelta(seconds=2 ** (n - free)), MAX_LOCK) if n >= free else None
        changes: dict[str, Any] = {"failures": n}
        if lock is not None:
            changes["locked_until"] = now + lock
        if await LoginThrottle.filter(unlocked, key=key, failures=row.failures).update(**changes):
            return True
    return False


async def give_back(key: str) -> None:
    """Undo one reservation of ``key`` (the attempt succeeded, or another key refused it)."""
    await LoginThrottle.filter(key=key, failures__gt=0).update(failures=F("failures") - 1)


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
