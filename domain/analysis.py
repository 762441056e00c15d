"""Conversation analysis: what an analysis holds, the ``Analyzer`` port, and how it can fail.

The analyzer (Claude, behind ``providers/claude.py``) reads one call's transcript and returns
scores, a CEFR level and feedback. The domain owns the prompt, the validation of the answer and
the retry rules; the provider only moves bytes and names the failure it saw.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Protocol

from domain.cefr import CefrLevel


class AnalysisStatus(Enum):
    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    SKIPPED = "skipped"


class MistakeCategory(Enum):
    GRAMMAR = "GRAMMAR"
    VOCABULARY = "VOCABULARY"
    FLUENCY = "FLUENCY"
    PRONUNCIATION = "PRONUNCIATION"


class PronunciationBasis(Enum):
    """What a pronunciation score rests on.

    A transcript cannot carry sound, so today every score is a ``TRANSCRIPT_ESTIMATE`` from
    recognition evidence; an audio assessor will write ``AUDIO_ASSESSMENT`` scores into the same
    fields (score, basis, confidence, evidence) without a schema change.
    """

    TRANSCRIPT_ESTIMATE = "TRANSCRIPT_ESTIMATE"
    AUDIO_ASSESSMENT = "AUDIO_ASSESSMENT"


@dataclass(frozen=True, slots=True)
class Turn:
    """One transcript turn as the analysis sees it (times in seconds from the call's start)."""

    role: str
    text: str
    start_s: float | None = None
    end_s: float | None = None
    #: The transcriber's confidence in 0..1, where the voice provider sent one.
    confidence: float | None = None


@dataclass(frozen=True, slots=True)
class Correction:
    original: str
    corrected: str
    explanation: str
    category: MistakeCategory


@dataclass(frozen=True, slots=True)
class VocabularySuggestion:
    word: str
    meaning: str
    example: str


@dataclass(frozen=True, slots=True)
class AnalysisResult:
    """A validated answer: every score in 0..100, a real CEFR level, no empty text."""

    grammar: int
    vocabulary: int
    fluency: int
    pronunciation: int
    cefr_level: CefrLevel
    summary: str
    strengths: tuple[str, ...]
    corrections: tuple[Correction, ...]
    vocabulary_suggestions: tuple[VocabularySuggestion, ...]
    next_focus: str


@dataclass(frozen=True, slots=True)
class FluencyEvidence:
    """Measured from turn timings, not judged: the numbers the fluency score is checked against."""

    learner_words: int
    learner_turns: int
    timed_turns: int
    speaking_seconds: float
    words_per_minute: float | None
    long_pauses: int
    longest_pause_s: float | None

    def to_json(self) -> dict[str, Any]:
        return {
            "learnerWords": self.learner_words,
            "learnerTurns": self.learner_turns,
            "timedTurns": self.timed_turns,
            "speakingSeconds": self.speaking_seconds,
            "wordsPerMinute": self.words_per_minute,
            "longPauses": self.long_pauses,
            "longestPauseS": self.longest_pause_s,
        }


@dataclass(frozen=True, slots=True)
class RecognitionEvidence:
    """What speech recognition made of the learner: the basis of a transcript estimate."""

    learner_words: int
    unclear_markers: int
    turns_with_confidence: int
    mean_confidence: float | None
    low_confidence_turns: int

    def to_json(self) -> dict[str, Any]:
        return {
            "learnerWords": self.learner_words,
            "unclearMarkers": self.unclear_markers,
            "turnsWithConfidence": self.turns_with_confidence,
            "meanConfidence": self.mean_confidence,
            "lowConfidenceTurns": self.low_confidence_turns,
        }


@dataclass(frozen=True, slots=True)
class Evidence:
    """Everything measured before the analyzer is asked; sent in the prompt and stored."""

    fluency: FluencyEvidence
    recognition: RecognitionEvidence
    pronunciation_confidence: float


@dataclass(frozen=True, slots=True)
class AnalysisPrompt:
    """A provider-neutral prompt: the long static part (cacheable) and the per-call part."""

    version: str
    instructions: str
    context: str
    transcript: str
    output_schema: dict[str, Any]

    @property
    def user_message(self) -> str:
        return f"{self.context}\n\n<transcript>\n{self.transcript}\n</transcript>"


@dataclass(frozen=True, slots=True)
class ModelAnswer:
    """The analyzer's parsed JSON (not yet validated) and what it cost."""

    data: Any
    model: str
    usage: dict[str, int] = field(default_factory=dict)


class Analyzer(Protocol):
    """Sends a prompt to a language model and returns its parsed JSON answer."""

    @property
    def model(self) -> str: ...

    async def analyze(self, prompt: AnalysisPrompt) -> ModelAnswer:
        """Raises ``AnalyzerUnavailable``, ``AnalyzerRefused`` or ``InvalidAnalysis``."""
        ...


class AnalyzerError(Exception):
    """A failed analysis attempt. ``reason`` is safe to store and show: it never holds
    transcript text or credentials."""

    retryable = False

    def __init__(self, reason: str, *, retry_after_s: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after_s = retry_after_s


class AnalyzerUnavailable(AnalyzerError):
    """Overloaded, rate limited, a server error or a timeout: worth trying again later."""

    retryable = True


class AnalyzerRefused(AnalyzerError):
    """A refusal no retry fixes (spend limit reached, bad key, bad request)."""


class InvalidAnalysis(AnalyzerError):
    """The model answered, but not with a valid analysis: asked again, never stored."""

    retryable = True
