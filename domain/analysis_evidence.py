"""Evidence measured from the transcript before any model is asked.

Fluency: learner words per minute over the turns whose start and end we know, and pauses of
``LONG_PAUSE_S`` or more before a learner turn (hesitation before answering or between the
learner's own turns). Pronunciation: a transcript holds no sound, so the estimate rests on what
speech recognition made of the learner: its confidence where the voice provider sent one, and
the words it could not make out (``[inaudible]``-style markers). The confidence we give a
transcript-based pronunciation score is capped at ``TRANSCRIPT_CONFIDENCE_CAP``::

    coverage   = min(1, learner words / 150)           # how much speech we saw
    clarity    = max(0, 1 - unclear markers / learner turns)
    source     = 0.5 + 0.5 * mean transcriber confidence   (0.5 when none was sent)
    confidence = round(0.6 * coverage * clarity * source, 2)
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Final

from domain.analysis import Evidence, FluencyEvidence, RecognitionEvidence, Turn

LONG_PAUSE_S: Final = 3.0
LOW_CONFIDENCE: Final = 0.6
FULL_COVERAGE_WORDS: Final = 150
TRANSCRIPT_CONFIDENCE_CAP: Final = 0.6
FILLERS: Final = frozenset({"um", "uh", "er", "erm", "hmm", "ah", "uhm"})
WORD_RE: Final = re.compile(r"[a-z0-9']+", re.I)
UNCLEAR_RE: Final = re.compile(
    r"\[inaudible\]|\[unclear\]|\(inaudible\)|\(unclear\)|\?\?\?", re.I
)


def words(text: str) -> list[str]:
    """The spoken words of ``text``, lower-cased, without fillers such as "um" and without
    the transcriber's [inaudible] markers."""
    heard = UNCLEAR_RE.sub(" ", text)
    return [w for w in (t.lower() for t in WORD_RE.findall(heard)) if w not in FILLERS]


def learner_spoke(turns: Sequence[Turn]) -> bool:
    return any(t.role == "learner" and words(t.text) for t in turns)


def fluency_evidence(turns: Sequence[Turn]) -> FluencyEvidence:
    learner = [t for t in turns if t.role == "learner"]
    n_words = sum(len(words(t.text)) for t in learner)
    timed = [
        t for t in learner if t.start_s is not None and t.end_s is not None and t.end_s > t.start_s
    ]
    seconds = sum((t.end_s or 0.0) - (t.start_s or 0.0) for t in timed)
    timed_words = sum(len(words(t.text)) for t in timed)
    wpm = round(timed_words / (seconds / 60), 1) if seconds > 0 else None
    pauses: list[float] = []
    previous_end: float | None = None
    for turn in turns:
        if turn.role == "learner" and turn.start_s is not None and previous_end is not None:
            gap = turn.start_s - previous_end
            if gap > 0:
                pauses.append(gap)
        previous_end = turn.end_s
    long_pauses = [p for p in pauses if p >= LONG_PAUSE_S]
    return FluencyEvidence(
        learner_words=n_words,
        learner_turns=len(learner),
        timed_turns=len(timed),
        speaking_seconds=round(seconds, 1),
        words_per_minute=wpm,
        long_pauses=len(long_pauses),
        longest_pause_s=round(max(pauses), 1) if pauses else None,
    )


def recognition_evidence(turns: Sequence[Turn]) -> RecognitionEvidence:
    learner = [t for t in turns if t.role == "learner"]
    confidences = [t.confidence for t in learner if t.confidence is not None]
    return RecognitionEvidence(
        learner_words=sum(len(words(t.text)) for t in learner),
        unclear_markers=sum(len(UNCLEAR_RE.findall(t.text)) for t in learner),
        turns_with_confidence=len(confidences),
        mean_confidence=round(sum(confidences) / len(confidences), 3) if confidences else None,
        low_confidence_turns=sum(1 for c in confidences if c < LOW_CONFIDENCE),
    )


def transcript_confidence(evidence: RecognitionEvidence, learner_turns: int) -> float:
    """How far a transcript-based pronunciation estimate can be trusted (module docstring)."""
    coverage = min(1.0, evidence.learner_words / FULL_COVERAGE_WORDS)
    clarity = max(0.0, 1.0 - evidence.unclear_markers / max(1, learner_turns))
    mean = evidence.mean_confidence
    source = 0.5 + 0.5 * max(0.0, min(1.0, mean)) if mean is not None else 0.5
    return round(TRANSCRIPT_CONFIDENCE_CAP * coverage * clarity * source, 2)


def measure(turns: Sequence[Turn]) -> Evidence:
    """All evidence for one call's turns."""
    fluency = fluency_evidence(turns)
    recognition = recognition_evidence(turns)
    return Evidence(
        fluency=fluency,
        recognition=recognition,
        pronunciation_confidence=transcript_confidence(recognition, fluency.learner_turns),
    )
