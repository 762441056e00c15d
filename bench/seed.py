"""Seed the scratch database fast: build every row in memory, then one COPY per table.

Learners (see ``SeedPlan``): one per history size (10 … 10,000 calls) for the dashboard and
progress benchmarks; learners with one call ringing for webhook ingestion; learners with one
call in progress for the subscription fan-out.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import asyncpg

from bench.seed_rows import Learner, Rows, utc_now
from db.scratch import dsn

COLUMNS: dict[str, tuple[str, ...]] = {
    "users": ("id", "account_ref", "full_name", "email", "phone", "password_hash", "timezone",
              "cefr_level", "level_under_review", "status", "policy_version",
              "objects_to_analysis", "objects_to_service_improvement", "processing_restricted",
              "role", "created_at"),
    "sessions": ("id", "user_id", "ip", "user_agent", "device", "method", "created_at",
                 "last_used_at", "expires_at"),
    "balances": ("account_ref", "amount_minor", "currency", "updated_at"),
    "calls": ("id", "user_id", "topic_id", "status", "ended_reason", "provider_call_id",
              "requested_at", "started_at", "ended_at", "duration_s", "billable_s",
              "charge_minor", "recording_url", "recording_expires_at", "updated_at",
              "max_duration_s"),
    "transcript_turns": ("call_id", "seq", "role", "text", "start_s", "end_s", "confidence"),
    "analyses": ("id", "call_id", "user_id", "status", "grammar", "vocabulary", "fluency",
                 "pronunciation", "pronunciation_basis", "pronunciation_confidence",
                 "cefr_level", "summary", "strengths", "vocabulary_suggestions", "next_focus",
                 "fluency_evidence", "pronunciation_evidence", "call_at", "model",
                 "prompt_version", "attempts", "created_at", "completed_at"),
    "corrections": ("analysis_id", "user_id", "call_id", "original", "corrected", "explanation",
                    "category", "created_at"),
    "level_history": ("user_id", "at", "cefr_level", "previous_level", "analysis_id", "reason"),
    "progress_calls": ("call_id", "user_id", "at", "seconds", "topic_id", "scored", "grammar",
                       "vocabulary", "fluency", "pronunciation"),
    "progress_days": ("user_id", "local_day", "topic_key", "timezone", "calls", "seconds",
                      "scored", "grammar_sum", "vocabulary_sum", "fluency_sum",
                      "pronunciation_sum"),
    "progress_state": ("user_id", "timezone", "streak_start", "streak_last"),
    "ledger_entries": ("account_ref", "user_id", "kind", "amount_minor", "currency",
                       "balance_after_minor", "business_key", "reference", "created_at"),
    "events": ("user_id", "call_id", "type", "payload", "created_at"),
    "webhook_deliveries": ("provider", "dedupe_key", "received_at", "body", "user_id"),
}
#: Parents before children, for the foreign keys.
ORDER = ("users", "sessions", "balances", "calls", "transcript_turns", "analyses", "corrections",
         "level_history", "progress_calls", "progress_days", "progress_state", "ledger_entries",
         "events", "webhook_deliveries")


@dataclass(frozen=True, slots=True)
class SeedPlan:
    history_sizes: tuple[int, ...] = (10, 100, 1_000, 10_000)
    webhook_learners: int = 1_000
    fanout_learners: int = 100


@dataclass
class Seeded:
    """Who was seeded, and how long it took."""

    history: dict[int, Learner] = field(default_factory=dict)
    ringing: list[Learner] = field(default_factory=list)
    in_progress: list[Learner] = field(default_factory=list)
    rows: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0


async def seed(url: str, plan: SeedPlan) -> Seeded:
    started = time.perf_counter()
    conn = await asyncpg.connect(dsn(url))
    try:
        topics = [r["id"] for r in await conn.fetch("SELECT id FROM topics ORDER BY slug")]
        rows = Rows(now=utc_now(), topics=topics)
        seeded = Seeded()
        for size in plan.history_sizes:
            seeded.history[size] = rows.learner(size)
        seeded.ringing = [rows.learner(3, live="queued") for _ in range(plan.webhook_learners)]
        seeded.in_progress = [rows.learner(3, live="in_progress")
                              for _ in range(plan.fanout_learners)]
        async with conn.transaction():
            # The rows are consistent by construction: skip the per-row foreign-key triggers.
            await conn.execute("SET LOCAL session_replication_role = replica")
            for table in ORDER:
                records = rows.tables.get(table, [])
                if records:
                    await conn.copy_records_to_table(table, records=records,
                                                     columns=COLUMNS[table])
                seeded.rows[table] = len(records)
        # Fresh statistics, as autovacuum would have on a database that grew over time.
        await conn.execute("ANALYZE")
    finally:
        await conn.close()
    seeded.seconds = time.perf_counter() - started
    return seeded
