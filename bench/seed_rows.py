"""Rows of realistic learner histories, built in memory and shaped like the real tables.

One learner's history is what the running service would have written for it: calls (most
answered, some unanswered or failed), their transcript turns, a DONE analysis with corrections
per conversation, level changes, ledger entries with the cached balance, the event log, the
pre-aggregated progress rows (``progress_calls``, ``progress_days``, ``progress_state``, computed
with the analysis domain's own day arithmetic) and one live sign-in session.
"""

from __future__ import annotations

import math
import random
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import orjson

from domain.progress_record import day_number, zone

SENTENCES = (
    "Yesterday I go to the market with my sister and we buyed some vegetables.",
    "What did you find most surprising about the city when you first arrived there?",
    "I think the weather in my country is more hotter than here in the summer.",
    "That sounds lovely. Could you tell me a little more about the people you met?",
    "My manager asked me to prepare a presentation about our quarterly results.",
    "Sorry, I didn't catch that. Could you say it again a bit more slowly, please?",
    "When I was a child I have lived near the sea, so I am loving to swim.",
    "Good point. How would you explain that idea to a colleague who disagrees?",
)
LEVELS = ("A2", "B1", "B2", "C1")
WINDOW_DAYS = 360


def _json(value: Any) -> str:
    return orjson.dumps(value).decode()


@dataclass(frozen=True, slots=True)
class Learner:
    """A seeded learner: who to sign in as, and the call the live benchmarks talk about."""

    user_id: UUID
    session_id: UUID
    calls: int
    timezone: str
    live_call_id: UUID | None = None
    live_provider_id: str | None = None


@dataclass
class Rows:
    """Tuples per table, in the column order of ``COLUMNS`` (bench/seed.py copies them)."""

    now: datetime
    topics: list[UUID]
    rng: random.Random = field(default_factory=lambda: random.Random(20240901))
    tables: dict[str, list[tuple[Any, ...]]] = field(default_factory=lambda: defaultdict(list))

    def add(self, table: str, *row: Any) -> None:
        self.tables[table].append(row)

    def learner(self, calls: int, *, live: str | None = None, tz: str = "Europe/Istanbul"
                ) -> Learner:
        """A learner with ``calls`` past calls; ``live`` adds one active call in that status."""
        user_id, session_id, account_ref = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
        created = self.now - timedelta(days=WINDOW_DAYS + 5)
        n = len(self.tables["users"])
        self.add("users", user_id, account_ref, f"Bench Learner {n}", f"bench-{n}@example.com",
                 "+447911123456", None, tz, LEVELS[min(3, int(math.log10(calls + 1)))], False,
                 "active", "2024-06", False, False, False, "learner", created)
        self.add("sessions", session_id, user_id, "127.0.0.1", "bench", "bench", "password",
                 created, self.now, self.now + timedelta(days=30))
        history = _History(self, user_id, account_ref, tz, expected=calls)
        for at in sorted(self.now - timedelta(seconds=self.rng.uniform(3600, WINDOW_DAYS * 86400))
                         for _ in range(calls)):
            history.call(at)
        history.finish()
        if live is None:
            return Learner(user_id, session_id, calls, tz)
        call_id, provider_id = uuid.uuid4(), f"bench-vapi-{uuid.uuid4().hex}"
        started = self.now if live == "in_progress" else None
        self.add("calls", call_id, user_id, self.rng.choice(self.topics), live, None, provider_id,
                 self.now, started, None, None, None, None, None, None, self.now, 600)
        return Learner(user_id, session_id, calls, tz, call_id, provider_id)


@dataclass
class _History:
    rows: Rows
    user_id: UUID
    account_ref: UUID
    tz: str
    expected: int
    balance: int = 0
    analysed: int = 0
    level: str | None = None
    days: dict[tuple[int, str], list[int]] = field(default_factory=dict)

    def call(self, at: datetime) -> None:
        rows, rng = self.rows, self.rows.rng
        call_id = uuid.uuid4()
        topic = rng.choice(rows.topics) if rng.random() < 0.9 else None
        if rng.random() < 0.05:
            rows.add("calls", call_id, self.user_id, topic, "failed", None, None, at, None, None,
                     None, None, None, None, None, at, 600)
            self._events(call_id, at, ["requested", "failed"])
            return
        if len(rows.tables["ledger_entries"]) % 20 == 0 or self.balance < 500:
            self._post("top_up", 5000, f"bench-topup:{uuid.uuid4()}", at - timedelta(hours=1))
        provider_id = f"bench-vapi-{call_id.hex}"
        answered = rng.random() < 0.9
        duration = rng.randint(240, 900) if answered else 0
        started = at + timedelta(seconds=12) if answered else None
        ended = at + timedelta(seconds=20 + duration)
        charge = math.ceil(duration * 20 / 60)
        reason = "customer-ended-call" if answered else "customer-did-not-answer"
        rows.add("calls", call_id, self.user_id, topic, "ended", reason, provider_id, at, started,
                 ended, duration, duration, charge, f"https://recordings.invalid/{call_id}.wav",
                 ended + timedelta(days=30), ended, 600)
        rows.add("webhook_deliveries", "vapi", f"{provider_id}:end-of-call-report", ended,
                 '{"message":{"type":"end-of-call-report"}}', self.user_id)
        self._post("call_charge", -charge, f"call:{call_id}", ended)
        self._events(call_id, ended, ["requested", "queued", "ringing", "in_progress", "ended"])
        if not answered:
            return
        for seq in range(1, 17):
            start = seq * duration / 17
            rows.add("transcript_turns", call_id, seq, "coach" if seq % 2 else "learner",
                     rng.choice(SENTENCES), round(start, 2), round(start + 9.5, 2),
                     None if seq % 2 else round(rng.uniform(0.7, 0.99), 2))
        self._analysis(call_id, topic, started or at, ended, duration)

    def _analysis(self, call_id: UUID, topic: UUID | None, at: datetime, ended: datetime,
                  duration: int) -> None:
        rows, rng = self.rows, self.rows.rng
        # The level climbs slowly over the learner's history, as the median of five would.
        band = min(3, 4 * self.analysed // max(1, self.expected))
        self.analysed += 1
        scores = [rng.randint(45 + 10 * band, 60 + 10 * band) for _ in range(4)]
        level = LEVELS[band]
        analysis_id = uuid.uuid4()
        done = ended + timedelta(seconds=40)
        suggestion = {"word": "bustling", "meaning": "full of activity",
                      "example": "The market was bustling."}
        fluency = {"learnerWords": 410, "learnerTurns": 8, "timedTurns": 8,
                   "speakingSeconds": 76.0, "wordsPerMinute": 118.4, "longPauses": 1,
                   "longestPauseS": 3.4}
        pron = {"learnerWords": 410, "unclearMarkers": 1, "turnsWithConfidence": 8,
                "meanConfidence": 0.86, "lowConfidenceTurns": 0}
        rows.add("analyses", analysis_id, call_id, self.user_id, "done", *scores,
                 "TRANSCRIPT_ESTIMATE", 0.55, level, "A friendly conversation about daily life.",
                 _json(["clear opinions", "good questions"]), _json([suggestion]),
                 "Past simple of irregular verbs.", _json(fluency), _json(pron), at,
                 "claude-sonnet-4-6", "v3", 1, ended, done)
        for i in range(3):
            rows.add("corrections", analysis_id, self.user_id, call_id,
                     "Yesterday I go to the market", "Yesterday I went to the market",
                     "Use the past simple for finished actions.",
                     ("GRAMMAR", "VOCABULARY", "PRONUNCIATION")[i], at)
        if level != self.level:
            rows.add("level_history", self.user_id, done, level, self.level, analysis_id,
                     "Median of the last five analysed calls changed.")
            self.level = level
        rows.add("progress_calls", call_id, self.user_id, at, duration, topic, True, *scores)
        totals = self.days.setdefault((day_number(at, zone(self.tz)), str(topic or "")),
                                      [0] * 7)
        for i, value in enumerate((1, duration, 1, *scores)):
            totals[i] += value
        self._emit(call_id, done, "analysis.ready", {"analysisId": str(analysis_id),
                                                      "status": "done", "cefrLevel": level})

    def _post(self, kind: str, amount: int, key: str, at: datetime) -> None:
        self.balance += amount
        self.rows.add("ledger_entries", self.account_ref, self.user_id, kind, amount, "USD",
                      self.balance, key, None, at)
        self._emit(None, at, "balance.changed", {"amountMinor": self.balance, "currency": "USD",
                                                 "deltaMinor": amount, "kind": kind})

    def _events(self, call_id: UUID, at: datetime, statuses: list[str]) -> None:
        previous = None
        for status in statuses:
            self._emit(call_id, at, "call.status_changed",
                       {"status": status, "previousStatus": previous})
            previous = status

    def _emit(self, call_id: UUID | None, at: datetime, kind: str, payload: dict[str, Any]
              ) -> None:
        self.rows.add("events", self.user_id, call_id, kind, _json(payload), at)

    def finish(self) -> None:
        rows = self.rows
        rows.add("balances", self.account_ref, self.balance, "USD", rows.now)
        for (day, topic), t in sorted(self.days.items()):
            rows.add("progress_days", self.user_id, day, topic, self.tz, *t)
        call_days = {day for day, _ in self.days}
        last = max(call_days, default=None)
        first = last
        while first is not None and first - 1 in call_days:
            first -= 1
        rows.add("progress_state", self.user_id, self.tz, first, last)
        if self.level is not None:
            rows.tables["users"][-1] = (*rows.tables["users"][-1][:7], self.level,
                                         *rows.tables["users"][-1][8:])


def utc_now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)
