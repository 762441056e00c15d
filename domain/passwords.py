"""Password rules and bcrypt hashing (off the event loop: cost 12 takes ~250 ms)."""

from __future__ import annotations

import asyncio

import bcrypt

MIN_BYTES = 8
#: bcrypt ignores everything after 72 bytes; longer passwords are refused, never truncated.
MAX_BYTES = 72


def password_problem(password: str) -> str | None:
    """Why ``password`` is unacceptable at sign-up, or None."""
    size = len(password.encode("utf-8"))
    if size < MIN_BYTES:
        return f"Password must be at least {MIN_BYTES} bytes."
    if size > MAX_BYTES:
        return f"Password must be at most {MAX_BYTES} bytes (bcrypt's limit)."
    return None


class PasswordHasher:
    """bcrypt with a configured cost (12 in production)."""

    def __init__(self, rounds: int = 12) -> None:
        self.rounds = rounds
        # A real hash to compare against when the account does not exist, so that a login
        # for an unknown email costs the same time as one with a wrong password.
        self._dummy = bcrypt.hashpw(b"dummy-password", bcrypt.gensalt(rounds)).decode()

    async def hash(self, password: str) -> str:
        data = password.encode("utf-8")
        salt = bcrypt.gensalt(self.rounds)
        return (await asyncio.to_thread(bcrypt.hashpw, data, salt)).decode()

    async def verify(self, password: str, password_hash: str | None) -> bool:
        data = password.encode("utf-8")
        if len(data) > MAX_BYTES:
            return False
        target = (password_hash or self._dummy).encode()
        ok = await asyncio.to_thread(bcrypt.checkpw, data, target)
        return ok and password_hash is not None
