"""Analysis in the schema: a call's analysis, its mistakes, the measured evidence, and the
errors of `requestReanalysis` and `contestLevel`."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, Self

import strawberry
from strawberry import relay

from db.loaders import analyses_by_call, corrections_by_analysis
from db.models.analysis import Analysis as AnalysisRow
from db.models.analysis import Correction as CorrectionRow
from domain import analysis, analysis_levels, analysis_run
from resolvers.context import Context
from schema.cefr import CefrLevel
from schema.errors import RefusalError, UserError, enum_type
from schema.pagination import Connection

if TYPE_CHECKING:  # the schema enums are the domain enums, registered under these names
    AnalysisStatus = analysis.AnalysisStatus
    MistakeCategory = analysis.MistakeCategory
    PronunciationBasis = analysis.PronunciationBasis
    RequestReanalysisErrorCode = analysis_run.RequestReanalysisErrorCode
    ContestLevelErrorCode = analysis_levels.ContestLevelErrorCode
else:
    AnalysisStatus = enum_type(
        analysis.AnalysisStatus,
        "AnalysisStatus",
        "Where an analysis is: PENDING (queued, or waiting to retry), RUNNING, DONE, FAILED "
        "(gave up: see `statusReason`; `requestReanalysis` tries again) or SKIPPED (not made: "
        "the learner objected, restricted processing or did not speak).",
        {
            "PENDING": "Queued, or waiting to retry after a failed attempt.",
            "RUNNING": "An attempt is being made now.",
            "DONE": "Made: scores, level and feedback are filled in.",
            "FAILED": "Gave up after the last attempt; see `statusReason`.",
            "SKIPPED": "Not made: objection, restriction, or no learner speech.",
        },
    )
    MistakeCategory = enum_type(
        analysis.MistakeCategory,
        "MistakeCategory",
        "What kind of mistake a correction fixes.",
        {
            "GRAMMAR": "Grammar: tenses, agreement, word order, articles.",
            "VOCABULARY": "Word choice and collocations.",
            "FLUENCY": "Flow: fillers, false starts, hesitation.",
            "PRONUNCIATION": "How a word was said, as far as the transcript shows it.",
        },
    )
    PronunciationBasis = enum_type(
        analysis.PronunciationBasis,
        "PronunciationBasis",
        "What a pronunciation score rests on: TRANSCRIPT_ESTIMATE (inferred from what speech "
        "recognition made of the learner; no audio was assessed) or AUDIO_ASSESSMENT "
        "(reserved for an assessor that listens to the recording).",
        {
            "TRANSCRIPT_ESTIMATE": "Estimated from speech-recognition evidence, not from audio.",
            "AUDIO_ASSESSMENT": "Assessed from the recording (not yet available).",
        },
    )
    RequestReanalysisErrorCode = enum_type(
        analysis_run.RequestReanalysisErrorCode,
        "RequestReanalysisErrorCode",
        "Why `requestReanalysis` refused.",
        {
            "NOT_FOUND": "No such call of the learner's.",
            "NOT_FAILED": "The call's analysis has not failed (or was never queued).",
            "ANALYSIS_OBJECTED": "The learner objected to the analysis of their calls.",
            "PROCESSING_RESTRICTED": "The learner restricted the processing of their data.",
            "ACCOUNT_CLOSED": "The account is closed.",
        },
    )
    ContestLevelErrorCode = enum_type(
        analysis_levels.ContestLevelErrorCode,
        "ContestLevelErrorCode",
        "Why `contestLevel` refused.",
        {
            "NO_LEVEL": "The learner has no level yet.",
            "ALREADY_UNDER_REVIEW": "The level is already being reviewed by a person.",
            "INVALID_REASON": "The reason is empty or longer than 2000 characters.",
            "ACCOUNT_CLOSED": "The account is closed.",
        },
    )

Info = strawberry.Info[Context, None]


@strawberry.type(
    description="Fluency evidence measured from the transcript's timings (not judged by the "
    "model): what the fluency score is checked against."
)
class FluencyEvidence:
    learner_words: int = strawberry.field(description="Words the learner spoke (no fillers).")
    learner_turns: int = strawberry.field(description="Turns the learner spoke.")
    timed_turns: int = strawberry.field(description="Learner turns with a known start and end.")
    speaking_seconds: float = strawberry.field(description="Length of the timed learner turns.")
    words_per_minute: float | None = strawberry.field(
        description="Learner words per minute over the timed turns; null without timings."
    )
    long_pauses: int = strawberry.field(
        description="Pauses of 3 seconds or more before a learner turn."
    )
    longest_pause_seconds: float | None = strawberry.field(
        description="The longest pause before a learner turn; null without timings."
    )

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Self | None:
        if not data:
            return None
        return cls(
            learner_words=data["learnerWords"], learner_turns=data["learnerTurns"],
            timed_turns=data["timedTurns"], speaking_seconds=data["speakingSeconds"],
            words_per_minute=data["wordsPerMinute"], long_pauses=data["longPauses"],
            longest_pause_seconds=data["longestPauseS"],
        )


@strawberry.type(
    description="What speech recognition made of the learner: the basis of a "
    "TRANSCRIPT_ESTIMATE pronunciation score and of its confidence."
)
class RecognitionEvidence:
    learner_words: int = strawberry.field(description="Words recognised from the learner.")
    unclear_markers: int = strawberry.field(
        description="Places the transcriber could not make out ([inaudible], [unclear])."
    )
    turns_with_confidence: int = strawberry.field(
        description="Learner turns for which the transcriber reported a confidence."
    )
    mean_confidence: float | None = strawberry.field(
        description="The transcriber's mean confidence (0–1) over those turns; null if none."
    )
    low_confidence_turns: int = strawberry.field(
        description="Learner turns transcribed with a confidence below 0.6."
    )

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Self | None:
        if not data:
            return None
        return cls(
            learner_words=data["learnerWords"], unclear_markers=data["unclearMarkers"],
            turns_with_confidence=data["turnsWithConfidence"],
            mean_confidence=data["meanConfidence"],
            low_confidence_turns=data["lowConfidenceTurns"],
        )


@strawberry.type(description="A word or phrase that would have helped in the conversation.")
class VocabularySuggestion:
    word: str = strawberry.field(description="The word or phrase.")
    meaning: str = strawberry.field(description="What it means, briefly.")
    example: str = strawberry.field(description="An example sentence using it.")


@strawberry.type(description="One mistake the learner made in a call, with its correction.")
class Mistake(relay.Node):
    id: relay.NodeID[str]
    row: strawberry.Private[CorrectionRow]
    original: str = strawberry.field(description="The learner's words, as transcribed.")
    corrected: str = strawberry.field(description="A natural, correct way to say it.")
    explanation: str = strawberry.field(description="Why, in one sentence.")
    category: MistakeCategory = strawberry.field(description="What kind of mistake it is.")
    at: datetime = strawberry.field(description="When the call it was made in took place (UTC).")
    call_id: relay.GlobalID = strawberry.field(description="The call it was made in.")

    @classmethod
    def from_model(cls, row: CorrectionRow) -> Self:
        return cls(
            id=str(row.id), row=row, original=row.original, corrected=row.corrected,
            explanation=row.explanation, category=analysis.MistakeCategory(row.category),
            at=row.created_at, call_id=relay.GlobalID("Call", str(row.call_id)),
        )


MistakeConnection = Connection[Mistake]


async def _corrections(root: Analysis, info: Info) -> list[Mistake]:
    loader = info.context.loaders.get("corrections_by_analysis", corrections_by_analysis)
    return [Mistake.from_model(r) for r in await loader.load(root.row.id)]


@strawberry.type(
    description="Claude's analysis of one call: scores (0–100), CEFR level and feedback. "
    "Scores and feedback are null until `status` is DONE. Readable only by the call's learner."
)
class Analysis(relay.Node):
    id: relay.NodeID[str]
    row: strawberry.Private[AnalysisRow]
    status: AnalysisStatus = strawberry.field(description="Where the analysis is.")
    status_reason: str | None = strawberry.field(
        description="With FAILED: why it gave up. With SKIPPED: why none was made. With "
        "PENDING after a failed attempt: why that attempt failed (it will be retried)."
    )
    grammar: int | None = strawberry.field(description="Grammatical accuracy, 0–100.")
    vocabulary: int | None = strawberry.field(
        description="Range and precision of vocabulary, 0–100."
    )
    fluency: int | None = strawberry.field(
        description="Fluency, interaction and coherence, 0–100, checked against `fluencyEvidence`."
    )
    pronunciation: int | None = strawberry.field(
        description="Pronunciation, 0–100. See `pronunciationBasis`: today an estimate of "
        "intelligibility from the transcript, not a judgement of sound."
    )
    pronunciation_basis: PronunciationBasis | None = strawberry.field(
        description="What `pronunciation` rests on (TRANSCRIPT_ESTIMATE until audio is assessed)."
    )
    pronunciation_confidence: float | None = strawberry.field(
        description="How far `pronunciation` can be trusted, 0–1 (transcript estimates at most "
        "0.6): higher with more speech, reported transcriber confidence and fewer unclear words."
    )
    pronunciation_evidence: RecognitionEvidence | None = strawberry.field(
        description="The recognition evidence behind a TRANSCRIPT_ESTIMATE."
    )
    fluency_evidence: FluencyEvidence | None = strawberry.field(
        description="Speaking rate and pauses measured from the turn timings."
    )
    cefr_level: CefrLevel | None = strawberry.field(
        description="The CEFR level this call showed (A1–C2)."
    )
    summary: str | None = strawberry.field(description="A short summary for the learner.")
    strengths: list[str] = strawberry.field(description="What the learner did well.")
    vocabulary_suggestions: list[VocabularySuggestion] = strawberry.field(
        description="Words that would have helped in this conversation."
    )
    next_focus: str | None = strawberry.field(description="The one thing to practise next.")
    model: str | None = strawberry.field(description="The Claude model that made it.")
    prompt_version: str | None = strawberry.field(
        description="Version of the rubric and prompt it was made with."
    )
    attempts: int = strawberry.field(description="Attempts made so far (retries included).")
    completed_at: datetime | None = strawberry.field(
        description="When it reached DONE, FAILED or SKIPPED (UTC)."
    )
    call_id: relay.GlobalID = strawberry.field(description="The call it analyses.")
    corrections: list[Mistake] = strawberry.field(
        resolver=_corrections,
        description="The learner's mistakes in this call, most important first.",
    )

    @classmethod
    def from_model(cls, row: AnalysisRow) -> Self:
        basis = row.pronunciation_basis
        level = row.cefr_level
        return cls(
            id=str(row.id),
            row=row,
            status=analysis.AnalysisStatus(row.status),
            status_reason=row.error,
            grammar=row.grammar,
            vocabulary=row.vocabulary,
            fluency=row.fluency,
            pronunciation=row.pronunciation,
            pronunciation_basis=analysis.PronunciationBasis(basis) if basis else None,
            pronunciation_confidence=row.pronunciation_confidence,
            pronunciation_evidence=RecognitionEvidence.from_json(row.pronunciation_evidence),
            fluency_evidence=FluencyEvidence.from_json(row.fluency_evidence),
            cefr_level=CefrLevel(level) if level else None,
            summary=row.summary,
            strengths=list(row.strengths),
            vocabulary_suggestions=[VocabularySuggestion(**s) for s in row.vocabulary_suggestions],
            next_focus=row.next_focus,
            model=row.model,
            prompt_version=row.prompt_version,
            attempts=row.attempts,
            completed_at=row.completed_at,
            call_id=relay.GlobalID("Call", str(row.call_id)),
        )


async def analysis_of_call(call_id: object, info: Info) -> Analysis | None:
    """The ``Call.analysis`` field: batched across every call of the response."""
    row = await info.context.loaders.get("analyses_by_call", analyses_by_call).load(call_id)
    return Analysis.from_model(row) if row is not None else None


@strawberry.type(
    description="A contested level: flagged for review by a person, who answers the "
    "objection within 30 days. Automatic level changes pause meanwhile."
)
class LevelContest:
    level: CefrLevel = strawberry.field(description="The contested level.")
    under_review: bool = strawberry.field(description="Always true once contested.")
    request_id: relay.GlobalID = strawberry.field(
        description="The privacy request (kind objection) recording the objection."
    )
    received_at: datetime = strawberry.field(description="When the objection was received.")
    due_at: datetime = strawberry.field(description="When it must be answered (30 days).")

    @classmethod
    def from_contest(cls, contest: analysis_levels.LevelContest) -> Self:
        return cls(
            level=contest.level,
            under_review=True,
            request_id=relay.GlobalID("PrivacyRequest", str(contest.request.id)),
            received_at=contest.request.received_at,
            due_at=contest.request.due_at,
        )


@strawberry.type(description="`requestReanalysis` refused; nothing was queued.")
class RequestReanalysisError(RefusalError, UserError):
    code: RequestReanalysisErrorCode = strawberry.field(description="Why it was refused.")


@strawberry.type(description="`contestLevel` refused; nothing was recorded.")
class ContestLevelError(RefusalError, UserError):
    code: ContestLevelErrorCode = strawberry.field(description="Why it was refused.")


RequestReanalysisResult = Annotated[
    Analysis | RequestReanalysisError,
    strawberry.union(
        "RequestReanalysisResult", description="The analysis, PENDING again, or why not."
    ),
]
ContestLevelResult = Annotated[
    LevelContest | ContestLevelError,
    strawberry.union("ContestLevelResult", description="The recorded objection, or why not."),
]
