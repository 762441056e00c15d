"""Deterministic CEFR speaking analysis for the Anthropic sandbox.

The sandbox cannot think, but the service and its tests need an analysis that behaves like
Claude's: same transcript in, same analysis out, and a longer, richer, error-free transcript
scoring higher. So every number here is a documented function of the learner's lines, which
lets tests elsewhere predict the result.

Input
-----
The transcript is the text between ``<transcript>`` and ``</transcript>`` in the last user
message (the whole message if the markers are absent). One turn per line::

    [12.5-18.0] LEARNER: Yesterday I goed to the market.
    [?-?] COACH: What did you buy?

``start``/``end`` are seconds or ``?``; the speaker is ``LEARNER`` or ``COACH``
(case-insensitive); other lines are ignored. Only LEARNER lines are scored.

Metrics (learner lines only)
----------------------------
- words: ``[A-Za-z0-9']+`` tokens, lower-cased, minus fillers (um, uh, er, erm, hmm, ah, uhm).
  ``W`` = word count, ``D`` = distinct words, ``F`` = filler count, ``T`` = learner turns.
- sentences ``S``: each turn split on ``.``, ``!``, ``?``; every non-empty piece holding a word
  counts. ``ASL = W / S``.
- ``G = D / sqrt(W)`` (Guiraud's index: type/token ratio corrected for length).
- ``L = min(1, W / 150)`` (length credit, full at 150 words).
- errors: the ``ERROR_PATTERNS`` below. ``Eg``/``Ev`` = matches in GRAMMAR/VOCABULARY
  category, ``ERg = 100 * Eg / W`` and ``ERv = 100 * Ev / W`` (per 100 words).
- ``FR = F / (W + F)``; ``U`` = unclear markers (``[inaudible]``, ``[unclear]``, ``(inaudible)``,
  ``(unclear)``, ``???``).
- ``WPM`` = words / minutes over learner turns whose start and end are both known and
  ``end > start``; ``P = clamp((WPM - 60) / 6, -10, 10)``, or 0 if there is no timing.

Scores (``r`` = round half up, every score clamped to 0..100; all 0 when ``W == 0``)
--------------------------------------------------------------------------------------
- grammar       = r(35 + 45*L + min(ASL, 15) - min(40, 4*ERg))
- vocabulary    = r(10 + 6*min(G, 10) + 25*L - min(30, 4*ERv))
- fluency       = r(20 + 40*L + 2*min(ASL, 15) + P - 150*FR)
- pronunciation = r(0.5*fluency + 0.3*vocabulary + 0.2*grammar - 5*U)
- overall       = 0.3*grammar + 0.25*vocabulary + 0.25*fluency + 0.2*pronunciation
- cefrLevel: overall < 35 A1, < 50 A2, < 62 B1, < 75 B2, < 88 C1, else C2.

Corrections: one per distinct (original, corrected) error match in order of appearance, then
one FLUENCY correction for the first learner turn with two or more fillers; at most 8.
``original`` is the learner's words as matched (e.g. "I goed"), ``corrected`` the fix ("I went").
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass
from typing import Any, Final

LEVELS: Final = (("A1", 35.0), ("A2", 50.0), ("B1", 62.0), ("B2", 75.0), ("C1", 88.0))
FILLERS: Final = frozenset({"um", "uh", "er", "erm", "hmm", "ah", "uhm"})
UNCLEAR_RE: Final = re.compile(r"\[inaudible\]|\[unclear\]|\(inaudible\)|\(unclear\)|\?\?\?", re.I)
WORD_RE: Final = re.compile(r"[a-z0-9']+", re.I)
LINE_RE: Final = re.compile(
    r"^\s*\[\s*(?P<start>[^\]\-]*?)\s*-\s*(?P<end>[^\]]*?)\s*\]\s*"
    r"(?P<speaker>LEARNER|COACH)\s*:\s*(?P<text>.*?)\s*$",
    re.I,
)
MAX_CORRECTIONS: Final = 8


@dataclass(frozen=True, slots=True)
class ErrorPattern:
    """A common learner error: a regex over learner text and how to fix it."""

    regex: re.Pattern[str]
    #: ``re`` replacement template applied to the match to build ``corrected``.
    replacement: str
    explanation: str
    category: str


def _p(pattern: str, replacement: str, explanation: str, category: str = "GRAMMAR") -> ErrorPattern:
    """Compile one error pattern (case-insensitive, whole words)."""
    return ErrorPattern(re.compile(pattern, re.I), replacement, explanation, category)


_SUBJ = r"(?:(\b(?:i|you|we|they|he|she|it)\s+))?"

#: The known errors, checked in this order. Exposed so tests can build transcripts from them.
ERROR_PATTERNS: Final = (
    _p(_SUBJ + r"\bgoed\b", r"\1went", "'Go' is irregular: the past tense is 'went'."),
    _p(_SUBJ + r"\bbuyed\b", r"\1bought", "'Buy' is irregular: the past tense is 'bought'."),
    _p(_SUBJ + r"\bthinked\b", r"\1thought", "'Think' is irregular: the past is 'thought'."),
    _p(_SUBJ + r"\bcatched\b", r"\1caught", "'Catch' is irregular: the past is 'caught'."),
    _p(r"\b(didn't|did not)\s+went\b", r"\1 go", "After 'did'/'didn't' use the base verb."),
    _p(r"\b(he|she|it)\s+don't\b", r"\1 doesn't", "Third person singular takes 'doesn't'."),
    _p(r"\bmore\s+better\b", "better", "'Better' is already comparative; drop 'more'."),
    _p(r"\bmore\s+easy\b", "easier", "Short adjectives form the comparative with '-er'."),
    _p(r"\bthe\s+most\s+best\b", "the best", "'Best' is already superlative; drop 'most'."),
    _p(r"\b(i|we|they|you)\s+(?:am|are)\s+agree\b", r"\1 agree", "'Agree' is a verb: no 'be'."),
    _p(r"\bexplain\s+(me|him|her|us|them)\b", r"explain to \1", "We explain something TO someone."),
    _p(r"\binformations\b", "information", "'Information' is uncountable: no plural -s."),
    _p(r"\badvices\b", "advice", "'Advice' is uncountable: no plural -s.", "VOCABULARY"),
    _p(r"\bchilds\b", "children", "The plural of 'child' is 'children'."),
    _p(r"\bdiscuss\s+about\b", "discuss", "'Discuss' takes a direct object: no 'about'."),
    _p(r"\bdepends?\s+of\b", "depends on", "The verb 'depend' takes 'on'.", "VOCABULARY"),
    _p(r"\bmake\s+a\s+photo\b", "take a photo", "In English we 'take' a photo.", "VOCABULARY"),
    _p(r"\bI\s+have\s+(\d+)\s+years(?:\s+old)?\b", r"I am \1 years old", "Age uses 'be'."),
)

#: Basic word -> (suggested richer word, meaning, example).
SUGGESTIONS: Final[dict[str, tuple[str, str, str]]] = {
    "good": ("rewarding", "giving satisfaction", "Learning English has been really rewarding."),
    "bad": ("disappointing", "worse than hoped", "The film was disappointing."),
    "nice": ("pleasant", "enjoyable, agreeable", "We had a pleasant evening."),
    "big": ("substantial", "large in size or amount", "It was a substantial improvement."),
    "very": ("remarkably", "to an unusual degree", "She was remarkably calm."),
    "thing": ("aspect", "one part or feature of something", "That is the hardest aspect."),
    "happy": ("delighted", "very pleased", "I was delighted with the result."),
    "important": ("crucial", "extremely important", "Practice is crucial for fluency."),
    "interesting": ("fascinating", "extremely interesting", "The museum was fascinating."),
    "problem": ("challenge", "a difficult task", "Grammar is my biggest challenge."),
    "like": ("enjoy", "to take pleasure in", "I really enjoy cooking."),
    "get": ("obtain", "to get, usually with effort", "I obtained a visa last year."),
}
FALLBACK_SUGGESTIONS: Final = (
    ("nevertheless", "in spite of that", "It rained; nevertheless, we went out."),
    ("furthermore", "in addition", "Furthermore, the hotel was close to the beach."),
    ("consequently", "as a result", "I missed the bus; consequently, I was late."),
)


@dataclass(frozen=True, slots=True)
class Turn:
    """One transcript line."""

    start: float | None
    end: float | None
    speaker: str
    text: str


def _seconds(raw: str) -> float | None:
    """Parse a timestamp; ``?`` or anything unparsable means unknown."""
    try:
        value = float(raw)
    except ValueError:
        return None
    return value if math.isfinite(value) and value >= 0 else None


def extract_transcript(message: str) -> str:
    """The text between the transcript markers, or the whole message without them."""
    start = message.find("<transcript>")
    if start < 0:
        return message
    start += len("<transcript>")
    end = message.find("</transcript>", start)
    return message[start:] if end < 0 else message[start:end]


def parse_turns(transcript: str) -> list[Turn]:
    """Every well-formed turn line, in order; other lines are ignored."""
    turns = []
    for line in transcript.splitlines():
        m = LINE_RE.match(line)
        if m:
            turns.append(
                Turn(_seconds(m["start"]), _seconds(m["end"]), m["speaker"].upper(), m["text"])
            )
    return turns


def _r(value: float) -> int:
    """Round half up and clamp to a 0..100 score (Python's round() is banker's rounding)."""
    return max(0, min(100, math.floor(value + 0.5)))


def cefr_level(overall: float) -> str:
    """Map the weighted overall score to a CEFR level."""
    for level, bound in LEVELS:
        if overall < bound:
            return level
    return "C2"


def _corrections(learner: list[Turn]) -> tuple[list[dict[str, str]], Counter[str]]:
    """Every error match (counted per category) and the distinct corrections to show."""
    found: list[dict[str, str]] = []
    seen: set[tuple[str, str]] = set()
    counts: Counter[str] = Counter()
    for turn in learner:
        hits = []
        for pattern in ERROR_PATTERNS:
            for m in pattern.regex.finditer(turn.text):
                hits.append((m.start(), pattern, m))
        for _, pattern, m in sorted(hits, key=lambda h: h[0]):
            counts[pattern.category] += 1
            original = m.group(0)
            corrected = m.expand(pattern.replacement).strip()
            if original[:1].isupper() and corrected[:1].islower():
                corrected = corrected[:1].upper() + corrected[1:]
            key = (original.lower(), corrected.lower())
            if key not in seen:
                seen.add(key)
                found.append(
                    {
                        "original": original,
                        "corrected": corrected,
                        "explanation": pattern.explanation,
                        "category": pattern.category,
                    }
                )
    for turn in learner:
        words = WORD_RE.findall(turn.text)
        if sum(w.lower() in FILLERS for w in words) >= 2:
            kept = [w for w in turn.text.split() if w.strip(",.!?;:").lower() not in FILLERS]
            fixed = " ".join(kept)
            for pattern in ERROR_PATTERNS:
                fixed = pattern.regex.sub(pattern.replacement, fixed)
            found.append(
                {
                    "original": turn.text,
                    "corrected": fixed[:1].upper() + fixed[1:],
                    "explanation": "Fillers like 'um' and 'uh' break the flow; pause silently.",
                    "category": "FLUENCY",
                }
            )
            break
    return found[:MAX_CORRECTIONS], counts


def analyse(message: str) -> dict[str, Any]:
    """The full analysis dict (the sandbox's JSON answer) for one user message."""
    learner = [t for t in parse_turns(extract_transcript(message)) if t.speaker == "LEARNER"]
    tokens = [w.lower() for t in learner for w in WORD_RE.findall(t.text)]
    words = [w for w in tokens if w not in FILLERS]
    n_words, n_fillers, n_turns = len(words), len(tokens) - len(words), len(learner)
    distinct = len(set(words))
    sentences = sum(
        1 for t in learner for piece in re.split(r"[.!?]+", t.text) if WORD_RE.search(piece)
    )
    asl = n_words / sentences if sentences else 0.0
    guiraud = distinct / math.sqrt(n_words) if n_words else 0.0
    length = min(1.0, n_words / 150)
    corrections, counts = _corrections(learner)
    err_g = 100 * counts["GRAMMAR"] / n_words if n_words else 0.0
    err_v = 100 * counts["VOCABULARY"] / n_words if n_words else 0.0
    fill_ratio = n_fillers / (n_words + n_fillers) if tokens else 0.0
    unclear = sum(len(UNCLEAR_RE.findall(t.text)) for t in learner)
    timed_words, timed_s = 0, 0.0
    for t in learner:
        if t.start is not None and t.end is not None and t.end > t.start:
            timed_s += t.end - t.start
            timed_words += sum(w.lower() not in FILLERS for w in WORD_RE.findall(t.text))
    pace = max(-10.0, min(10.0, (timed_words / (timed_s / 60) - 60) / 6)) if timed_s else 0.0

    if n_words == 0:
        grammar = vocabulary = fluency = pronunciation = 0
    else:
        grammar = _r(35 + 45 * length + min(asl, 15) - min(40, 4 * err_g))
        vocabulary = _r(10 + 6 * min(guiraud, 10) + 25 * length - min(30, 4 * err_v))
        fluency = _r(20 + 40 * length + 2 * min(asl, 15) + pace - 150 * fill_ratio)
        pronunciation = _r(0.5 * fluency + 0.3 * vocabulary + 0.2 * grammar - 5 * unclear)
    overall = 0.3 * grammar + 0.25 * vocabulary + 0.25 * fluency + 0.2 * pronunciation
    level = cefr_level(overall)
    n_errors = sum(counts.values())

    strengths = []
    if n_errors == 0 and n_words >= 20:
        strengths.append("Accurate grammar: no common errors detected.")
    if guiraud >= 6:
        strengths.append(f"Varied vocabulary ({distinct} different words).")
    if asl >= 10:
        strengths.append(f"Builds longer sentences (about {asl:.0f} words each).")
    if n_words >= 20 and fill_ratio < 0.02:
        strengths.append("Speaks smoothly with very few fillers.")
    if n_words >= 150:
        strengths.append(f"Sustains extended answers ({n_words} words in total).")
    if n_turns >= 5:
        strengths.append(f"Keeps the conversation going across {n_turns} turns.")
    if not strengths:
        strengths.append("Took part in the conversation." if n_words else "Answered the call.")

    freq = Counter(words)
    basic = sorted((w for w in SUGGESTIONS if freq[w]), key=lambda w: (-freq[w], w))[:3]
    suggestions = [
        {"word": SUGGESTIONS[w][0], "meaning": SUGGESTIONS[w][1], "example": SUGGESTIONS[w][2]}
        for w in basic
    ]
    for word, meaning, example in FALLBACK_SUGGESTIONS[: max(0, 2 - len(suggestions))]:
        suggestions.append({"word": word, "meaning": meaning, "example": example})

    if n_words == 0:
        summary = "No learner speech was found in the transcript, so no level could be judged."
        next_focus = "Answer the coach's questions in full sentences, even short ones."
    else:
        summary = (
            f"The learner spoke {n_words} words over {n_turns} turn{'s' if n_turns != 1 else ''}, "
            f"using {distinct} different "
            f"words with about {asl:.1f} words per sentence, and made {n_errors} common "
            f"error{'s' if n_errors != 1 else ''}. Overall this is consistent with level {level}."
        )
        if corrections and corrections[0]["category"] != "FLUENCY":
            c = corrections[0]
            next_focus = f"Say '{c['corrected']}' rather than '{c['original']}': {c['explanation']}"
        elif fill_ratio >= 0.05:
            next_focus = "Reduce fillers such as 'um' and 'uh': pause briefly and silently instead."
        elif asl < 8:
            next_focus = "Link ideas into longer sentences with 'because', 'although' and 'which'."
        elif guiraud < 6:
            next_focus = f"Broaden your vocabulary, for example with '{suggestions[0]['word']}'."
        else:
            next_focus = "Stretch yourself with conditionals and the passive on unfamiliar topics."

    return {
        "grammar": grammar,
        "vocabulary": vocabulary,
        "fluency": fluency,
        "pronunciation": pronunciation,
        "cefrLevel": level,
        "summary": summary,
        "strengths": strengths,
        "corrections": corrections,
        "vocabularySuggestions": suggestions,
        "nextFocus": next_focus,
    }
