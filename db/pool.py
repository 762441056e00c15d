"""PostgreSQL connections for the pool, released without a session-reset round trip.

Outside a transaction Tortoise takes a pooled connection for every statement, and asyncpg
sends ``SELECT pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL;`` each time one is
given back: a second round trip per statement, about 10 % of a webhook delivery's CPU (bench/).
The service never leaves session state behind (no SET, LISTEN, advisory locks or open cursors;
locks are row locks inside transactions), so the reset guards nothing here. asyncpg still rolls
back a transaction left open and drops listeners when a connection is released.
"""

from __future__ import annotations

import asyncpg


class PooledConnection(asyncpg.Connection):  # type: ignore[misc]
    def get_reset_query(self) -> str:
        return ""
