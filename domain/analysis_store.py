"""The life of a call's one analysis row: pending → running → done | failed, or skipped.

The row is unique per call (``analyses.call_id``), every transition is a conditional update or
runs under the row lock, and only ``complete`` writes results, so retries, lapsed leases and a
re-requested analysis can never store two results or count one call twice.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tortoise.expressions import F

from db.locks import lock_analysis
from db.models.analysis import Analysis
from db.models.analysis import Correction as CorrectionRow
from db.models.calls import Call
from domain.analysis import AnalysisResult, AnalysisStatus, Evidence, PronunciationBasis
from domain.analysis_levels import follow_recent_analyses
from domain.live import EventType
from domain.progress_record import Scores, call_time, record_scores
from domain.uow import Effects, UnitOfWork

OPEN = (AnalysisStatus.PENDING.value, AnalysisStatus.RUNNING.value)


async def ensure(call: Call) -> Analysis:
    """The call's analysis row, created pending on first use."""
    await Analysis.bulk_create(
        [Analysis(call_id=call.id, user_id=call.user_id, call_at=call_time(call))],
        ignore_conflicts=True,
    )
    return await Analysis.get(call_id=call.id)


async def start_attempt(analysis: Analysis) -> bool:
    """Mark an attempt as running; False when the analysis is already settled."""
    changed = await Analysis.filter(id=analysis.id, status__in=OPEN).update(
        status=AnalysisStatus.RUNNING.value, attempts=F("attempts") + 1
    )
    return changed == 1


async def note_retry(analysis: Analysis, reason: str) -> None:
    """Back to pending until the next attempt, with the reason the last one failed."""
    await Analysis.filter(id=analysis.id, status__in=OPEN).update(
        status=AnalysisStatus.PENDING.value, error=reason
    )


async def skip(call: Call, reason: str, now: datetime) -> None:
    """Settle without asking the analyzer (objection, restriction, silence): nothing to show."""
    await Analysis.filter(call_id=call.id, status__in=OPEN).update(
        status=AnalysisStatus.SKIPPED.value, error=reason, completed_at=now
    )


def ready_payload(analysis: Analysis) -> dict[str, Any]:
    """The ``analysis.ready`` event payload (keys as ``domain.live.EventType`` documents)."""
    return {
        "analysisId": str(analysis.id),
        "status": analysis.status,
        "grammar": analysis.grammar,
        "vocabulary": analysis.vocabulary,
        "fluency": analysis.fluency,
        "pronunciation": analysis.pronunciation,
        "cefrLevel": analysis.cefr_level,
    }


async def fail(effects: Effects, call: Call, reason: str, now: datetime) -> bool:
    """Settle as failed with ``reason`` (the learner may ask again); announces it."""
    async with UnitOfWork(effects) as uow:
        analysis = await lock_analysis(uow.conn, call.id)
        if analysis is None or analysis.status not in OPEN:
            return False
        analysis.status, analysis.error, analysis.completed_at = (
            AnalysisStatus.FAILED.value, reason, now,
        )
        await analysis.save(using_db=uow.conn, update_fields=["status", "error", "completed_at"])
        await uow.emit(
            user_id=call.user_id, call_id=call.id, type=EventType.ANALYSIS_READY,
            payload=ready_payload(analysis),
        )
        return True


async def complete(
    effects: Effects,
    *,
    call: Call,
    timezone: str,
    result: AnalysisResult,
    evidence: Evidence,
    model: str,
    prompt_version: str,
    now: datetime,
) -> bool:
    """Store a validated result, its corrections, progress and level, and announce it: one
    transaction. False when another run settled the analysis first."""
    async with UnitOfWork(effects) as uow:
        analysis = await lock_analysis(uow.conn, call.id)
        if analysis is None or analysis.status not in OPEN:
            return False
        analysis.update_from_dict(
            {
                "status": AnalysisStatus.DONE.value,
                "grammar": result.grammar,
                "vocabulary": result.vocabulary,
                "fluency": result.fluency,
                "pronunciation": result.pronunciation,
                "pronunciation_basis": PronunciationBasis.TRANSCRIPT_ESTIMATE.value,
                "pronunciation_confidence": evidence.pronunciation_confidence,
                "pronunciation_evidence": evidence.recognition.to_json(),
                "fluency_evidence": evidence.fluency.to_json(),
                "cefr_level": result.cefr_level.value,
                "summary": result.summary,
                "strengths": list(result.strengths),
                "vocabulary_suggestions": [
                    {"word": s.word, "meaning": s.meaning, "example": s.example}
                    for s in result.vocabulary_suggestions
                ],
                "next_focus": result.next_focus,
                "model": model,
                "prompt_version": prompt_version,
                "error": None,
                "call_at": call_time(call),
                "completed_at": now,
            }
        )
        await analysis.save(using_db=uow.conn)
        at = call_time(call)
        await CorrectionRow.bulk_create(
            [
                CorrectionRow(
                    analysis_id=analysis.id, user_id=call.user_id, call_id=call.id,
                    original=c.original, corrected=c.corrected, explanation=c.explanation,
                    category=c.category.value, created_at=at,
                )
                for c in result.corrections
            ],
            using_db=uow.conn,
        )
        scores = Scores(result.grammar, result.vocabulary, result.fluency, result.pronunciation)
        await record_scores(uow.conn, call=call, timezone=timezone, scores=scores)
        await follow_recent_analyses(
            uow.conn, user_id=call.user_id, analysis_id=analysis.id, now=now
        )
        await uow.emit(
            user_id=call.user_id, call_id=call.id, type=EventType.ANALYSIS_READY,
            payload=ready_payload(analysis),
        )
        return True
