"""The dashboard written by hand: Starlette + asyncpg + orjson, no GraphQL, no ORM.

``GET /dashboard`` answers exactly the JSON the GraphQL ``Dashboard`` query answers (the
benchmark checks that before timing anything), from the same database and the same tables,
including the same check of the access token and its live session. It is what the GraphQL
stack is measured against. It reads ``DATABASE_URL`` and ``JWT_SECRET`` like the service, and
keeps Tortoise's default pool size (5) so both sides have the same number of connections.

    python -m uvicorn bench.baseline_dashboard:app --port 8124
"""

from __future__ import annotations

import base64
import contextlib
import os
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

import asyncpg
import jwt
import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

EPOCH = date(1970, 1, 1)
WEEKS = 12
PAGE = 50

ME = """
SELECT u.id, u.full_name, u.cefr_level, u.timezone, b.amount_minor, b.currency,
       p.streak_start, p.streak_last
FROM sessions s
JOIN users u ON u.id = s.user_id
LEFT JOIN balances b ON b.account_ref = u.account_ref
LEFT JOIN progress_state p ON p.user_id = u.id
WHERE s.id = $1 AND s.user_id = $2 AND s.revoked_at IS NULL AND u.status = 'active'
"""
CALLS = """
SELECT c.id, c.status, c.ended_reason, c.requested_at, c.started_at, c.ended_at, c.duration_s,
       c.charge_minor, t.id AS topic_id, t.title, a.status AS a_status, a.grammar, a.vocabulary,
       a.fluency, a.pronunciation, a.cefr_level
FROM calls c
LEFT JOIN topics t ON t.id = c.topic_id
LEFT JOIN analyses a ON a.call_id = c.id
WHERE c.user_id = $1
ORDER BY c.requested_at DESC, c.id DESC
LIMIT $2
"""
WEEKLY = """
SELECT (local_day - $2) / 7 AS bucket, sum(calls) AS calls, sum(seconds) AS seconds,
       sum(scored) AS scored, sum(grammar_sum) AS g, sum(vocabulary_sum) AS v,
       sum(fluency_sum) AS f, sum(pronunciation_sum) AS p
FROM progress_days
WHERE user_id = $1 AND local_day >= $2 AND local_day < $3
GROUP BY 1
"""


def gid(kind: str, value: UUID) -> str:
    return base64.b64encode(f"{kind}:{value}".encode()).decode()


def cursor(requested_at: datetime, call_id: UUID) -> str:
    raw = f"{requested_at.isoformat()}|{call_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def summary(calls: int, seconds: int, scored: int, sums: tuple[int, int, int, int]
            ) -> dict[str, Any]:
    names = ("averageGrammar", "averageVocabulary", "averageFluency", "averagePronunciation")
    return {"calls": calls, "minutes": round(seconds / 60, 2), "analyzedCalls": scored,
            **{name: round(s / scored, 1) if scored else None for name, s in zip(names, sums,
                                                                                 strict=True)}}


def call_json(row: asyncpg.Record) -> dict[str, Any]:
    topic = None
    if row["topic_id"] is not None:
        topic = {"id": gid("Topic", row["topic_id"]), "title": row["title"]}
    analysis = None
    if row["a_status"] is not None:
        analysis = {"status": row["a_status"].upper(), "grammar": row["grammar"],
                    "vocabulary": row["vocabulary"], "fluency": row["fluency"],
                    "pronunciation": row["pronunciation"], "cefrLevel": row["cefr_level"]}
    return {"cursor": cursor(row["requested_at"], row["id"]), "node": {
        "id": gid("Call", row["id"]), "status": row["status"].upper(),
        "endedReason": row["ended_reason"], "requestedAt": row["requested_at"],
        "startedAt": row["started_at"], "endedAt": row["ended_at"],
        "durationSeconds": row["duration_s"], "chargeMinor": row["charge_minor"],
        "currency": "USD", "topic": topic, "analysis": analysis,
    }}


async def progress_json(conn: asyncpg.Connection, me: asyncpg.Record, now: datetime
                        ) -> dict[str, Any]:
    tz = ZoneInfo(me["timezone"])
    local = (now - timedelta(microseconds=1)).astimezone(tz).date()
    first = local - timedelta(days=local.weekday()) - timedelta(weeks=WEEKS - 1)
    starts = [first + timedelta(weeks=i) for i in range(WEEKS + 1)]
    edges = [datetime.combine(d, time(), tzinfo=tz).astimezone(UTC) for d in starts]
    day0 = (first - EPOCH).days
    rows = {r["bucket"]: r for r in await conn.fetch(WEEKLY, me["id"], day0, day0 + 7 * WEEKS)}
    buckets, totals = [], [0] * 7
    for i, start in enumerate(starts[:-1]):
        r = rows.get(i)
        values = (r["calls"], r["seconds"], r["scored"], r["g"], r["v"], r["f"], r["p"]) if r \
            else (0,) * 7
        totals = [a + int(b) for a, b in zip(totals, values, strict=True)]
        v = [int(x) for x in values]
        buckets.append({"localDate": start.isoformat(),
                        **summary(v[0], v[1], v[2], (v[3], v[4], v[5], v[6]))})
    today = (now.astimezone(tz).date() - EPOCH).days
    last, begin = me["streak_last"], me["streak_start"]
    streak = 0 if last is None or begin is None or last < today - 1 else last - begin + 1
    return {"periodStart": edges[0], "periodEnd": edges[-1], "buckets": buckets,
            "totals": summary(totals[0], totals[1], totals[2], (totals[3], totals[4], totals[5],
                                                                 totals[6])),
            "currentStreakDays": streak, "currentLevel": me["cefr_level"]}


def unauthenticated() -> Response:
    return Response(orjson.dumps({"errors": [{"message": "Sign in to do this."}]}), 401,
                    media_type="application/json")


async def dashboard(request: Request) -> Response:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    now = datetime.now(UTC)
    try:
        claims = jwt.decode(token, request.app.state.secret, algorithms=["HS256"],
                            options={"require": ["sub", "sid", "exp"]})
        user_id, session_id = UUID(claims["sub"]), UUID(claims["sid"])
    except (jwt.PyJWTError, ValueError, KeyError):
        return unauthenticated()
    if scheme.lower() != "bearer" or claims.get("typ") != "access":
        return unauthenticated()
    async with request.app.state.pool.acquire() as conn:
        me = await conn.fetchrow(ME, session_id, user_id)
        if me is None:
            return unauthenticated()
        rows = await conn.fetch(CALLS, user_id, PAGE + 1)
        progress = await progress_json(conn, me, now)
    edges = [call_json(r) for r in rows[:PAGE]]
    data = {
        "me": {"id": gid("User", me["id"]), "fullName": me["full_name"],
               "cefrLevel": me["cefr_level"], "timezone": me["timezone"],
               "balance": {"amountMinor": me["amount_minor"] or 0,
                           "currency": me["currency"] or "USD"}},
        "calls": {"edges": edges, "pageInfo": {
            "hasNextPage": len(rows) > PAGE,
            "endCursor": edges[-1]["cursor"] if edges else None}},
        "progress": progress,
    }
    return Response(orjson.dumps({"data": data}), media_type="application/json")


async def healthz(request: Request) -> Response:
    return Response(b"ok")


@contextlib.asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    url = os.environ["DATABASE_URL"].replace("postgres://", "postgresql://", 1)
    app.state.secret = os.environ["JWT_SECRET"]
    app.state.pool = await asyncpg.create_pool(url, min_size=1, max_size=5)
    try:
        yield
    finally:
        await app.state.pool.close()


app = Starlette(routes=[Route("/dashboard", dashboard), Route("/healthz", healthz)],
                lifespan=lifespan)
