"""The ``analyze`` job: one call's transcript to the analyzer, with our own retry rules.

Queued after an answered call's end-of-call report (``queue_analysis``), or again by the learner
after a failure (``request_reanalysis``, a new dedupe key). Each run is one attempt:

- the learner objected to analysis, restricted processing, closed the account or never spoke:
  the analysis is ``skipped`` and the analyzer is never asked;
- the analyzer is unavailable (429, 529, 5xx, timeout) or answers with an invalid analysis: the
  job runs again later, after ``retry-after`` when the API sent one, else with exponential
  backoff (an invalid answer is no sign of load, so it is asked again after a second);
- a refusal no retry fixes (spend limit, bad key) or the last attempt: the analysis is
  ``failed`` with the reason, announced, and the learner may request it again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from typing import Any, Final
from uuid import UUID

from db.locks import lock_analysis
from db.models.accounts import User
from db.models.analysis import Analysis
from db.models.calls import Call, TranscriptTurn
from db.models.plans import Preferences
from db.models.topics import Topic
from domain import analysis_store as store
from domain.analysis import AnalysisStatus, Analyzer, AnalyzerError, InvalidAnalysis, Turn
from domain.analysis_evidence import learner_spoke, measure
from domain.analysis_prompt import PROMPT_VERSION, CallContext, build_prompt
from domain.analysis_validation import parse_result
from domain.clock import Clock
from domain.errors import DomainError
from domain.jobs import GiveUp, JobRun, RetryLater, backoff
from domain.progress_record import record_call
from domain.uow import Effects, UnitOfWork

logger = logging.getLogger("callfluently.analysis")

ANALYZE_JOB: Final = "analyze"
MAX_ATTEMPTS: Final = 5
MAX_RETRY_AFTER_S: Final = 600.0
INVALID_ANSWER_DELAY: Final = timedelta(seconds=1)


def dedupe_key(call_id: UUID) -> str:
    return f"analyze:{call_id}"


async def queue_analysis(uow: UnitOfWork, *, call_id: UUID, now: datetime) -> bool:
    """Queue the analysis of an ended call in ``uow``'s transaction (once per call)."""
    return await uow.enqueue(
        ANALYZE_JOB, {"call_id": str(call_id)}, run_at=now, dedupe_key=dedupe_key(call_id),
        max_attempts=MAX_ATTEMPTS,
    )


def retry_delay(exc: AnalyzerError, attempt: int) -> timedelta:
    """``retry-after`` when the API sent one (capped), else our backoff."""
    if exc.retry_after_s is not None:
        # The worker treats a zero delay as "use the default", so "now" is a millisecond.
        seconds = min(max(exc.retry_after_s, 0.001), MAX_RETRY_AFTER_S)
        return timedelta(seconds=seconds)
    if isinstance(exc, InvalidAnalysis):
        return INVALID_ANSWER_DELAY
    return backoff(attempt)


def skip_reason(user: User, turns: list[Turn]) -> str | None:
    """Why this call must not be analysed at all, or None."""
    if user.status != "active":
        return "The account is closed."
    if user.objects_to_analysis:
        return "The learner objected to the analysis of their calls."
    if user.processing_restricted:
        return "Processing of the learner's data is restricted."
    if not learner_spoke(turns):
        return "The learner did not speak during the call."
    return None


async def _context(call: Call) -> CallContext:
    topic = await Topic.get_or_none(id=call.topic_id) if call.topic_id else None
    prefs = await Preferences.get_or_none(user_id=call.user_id)
    return CallContext(
        topic_title=topic.title if topic else None,
        topic_description=topic.description if topic else None,
        target_level=prefs.target_level if prefs else "B2",
        explanation_language=prefs.explanation_language if prefs else "en",
    )


async def _turns(call: Call) -> list[Turn]:
    rows = await TranscriptTurn.filter(call_id=call.id).order_by("seq")
    return [Turn(r.role, r.text, r.start_s, r.end_s, r.confidence) for r in rows]


def _call_id(payload: dict[str, Any]) -> UUID:
    try:
        return UUID(str(payload["call_id"]))
    except (KeyError, ValueError):
        raise GiveUp("payload has no valid call_id") from None


@dataclass(frozen=True, slots=True)
class AnalyzeCall:
    """The ``analyze`` job handler, closed over the analyzer port."""

    analyzer: Analyzer
    effects: Effects
    clock: Clock

    async def __call__(self, payload: dict[str, Any], run: JobRun) -> None:
        call_id = _call_id(payload)
        call = await Call.get_or_none(id=call_id)
        if call is None or call.status != "ended":
            raise GiveUp("the call does not exist or has not ended")
        user = await User.get_or_none(id=call.user_id)
        if user is None:
            raise GiveUp("the learner does not exist")
        analysis = await store.ensure(call)
        if analysis.status not in store.OPEN:
            return
        try:
            await self._attempt(call, user, analysis, run)
        except (RetryLater, GiveUp):
            raise
        except Exception:
            if run.is_last_attempt:
                await store.fail(self.effects, call, "Internal error while analysing.",
                                 self.clock.now())
            raise

    async def abandoned(self, payload: dict[str, Any], reason: str) -> None:
        """The last attempt's worker died: settle the analysis as FAILED, to be asked again."""
        call = await Call.get_or_none(id=_call_id(payload))
        if call is not None:
            await store.fail(self.effects, call, f"Analysis did not finish: {reason}",
                             self.clock.now())

    async def _attempt(self, call: Call, user: User, analysis: Analysis, run: JobRun) -> None:
        async with UnitOfWork(self.effects) as uow:
            await record_call(uow.conn, call=call, timezone=user.timezone)
        turns = await _turns(call)
        if reason := skip_reason(user, turns):
            await store.skip(call, reason, self.clock.now())
            return
        if not await store.start_attempt(analysis):
            return
        evidence = measure(turns)
        prompt = build_prompt(await _context(call), turns, evidence)
        log = {"call_id": str(call.id), "attempt": run.attempt}
        try:
            answer = await self.analyzer.analyze(prompt)
            result = parse_result(answer.data)
        except AnalyzerError as exc:
            logger.warning("analysis attempt failed", extra={**log, "reason": exc.reason})
            if exc.retryable and not run.is_last_attempt:
                await store.note_retry(analysis, exc.reason)
                raise RetryLater(exc.reason, retry_delay(exc, run.attempt)) from None
            final = exc.reason if not exc.retryable else (
                f"{exc.reason} (gave up after {run.attempt} attempts)"
            )
            await store.fail(self.effects, call, final, self.clock.now())
            raise GiveUp(final) from None
        stored = await store.complete(
            self.effects, call=call, timezone=user.timezone, result=result, evidence=evidence,
            model=answer.model, prompt_version=PROMPT_VERSION, now=self.clock.now(),
        )
        logger.info("analysis stored", extra={**log, "stored": stored, **answer.usage})


class RequestReanalysisErrorCode(Enum):
    NOT_FOUND = "NOT_FOUND"
    NOT_FAILED = "NOT_FAILED"
    ANALYSIS_OBJECTED = "ANALYSIS_OBJECTED"
    PROCESSING_RESTRICTED = "PROCESSING_RESTRICTED"
    ACCOUNT_CLOSED = "ACCOUNT_CLOSED"


class RequestReanalysisRefused(DomainError):
    pass


async def request_reanalysis(
    *, effects: Effects, user_id: UUID, call_id: UUID, now: datetime
) -> Analysis:
    """Queue a failed analysis of the learner's own call again (a new job, a new dedupe key)."""
    code = RequestReanalysisErrorCode
    async with UnitOfWork(effects) as uow:
        if not await Call.filter(id=call_id, user_id=user_id).using_db(uow.conn).exists():
            raise RequestReanalysisRefused(code.NOT_FOUND, "No such call.", "callId")
        user = await User.filter(id=user_id).using_db(uow.conn).get()
        if user.status != "active":
            raise RequestReanalysisRefused(code.ACCOUNT_CLOSED, "This account is closed.")
        if user.objects_to_analysis:
            raise RequestReanalysisRefused(
                code.ANALYSIS_OBJECTED,
                "You objected to the analysis of your calls, so none is made.",
            )
        if user.processing_restricted:
            raise RequestReanalysisRefused(
                code.PROCESSING_RESTRICTED,
                "Processing of your data is restricted at your request.",
            )
        analysis = await lock_analysis(uow.conn, call_id)
        if analysis is None or analysis.status != AnalysisStatus.FAILED.value:
            raise RequestReanalysisRefused(
                code.NOT_FAILED, "Only a failed analysis can be requested again.", "callId"
            )
        await Analysis.filter(id=analysis.id).using_db(uow.conn).update(
            status=AnalysisStatus.PENDING.value, error=None, completed_at=None
        )
        await analysis.refresh_from_db(using_db=uow.conn)
        await uow.enqueue(
            ANALYZE_JOB, {"call_id": str(call_id)}, run_at=now,
            dedupe_key=f"{dedupe_key(call_id)}:again:{analysis.attempts}",
            max_attempts=MAX_ATTEMPTS,
        )
        return analysis
