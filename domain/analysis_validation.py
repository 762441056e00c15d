"""Strict validation of the model's answer: anything off is ``InvalidAnalysis``, never stored.

Structured outputs constrain the shape but not ranges or lengths, and a model can still be cut
off or answer in prose, so every field is checked here: exact keys, integer scores in 0..100,
a CEFR level, non-empty bounded text and bounded lists.
"""

from __future__ import annotations

from typing import Any, Final

from domain.analysis import (
    AnalysisResult,
    Correction,
    InvalidAnalysis,
    MistakeCategory,
    VocabularySuggestion,
)
from domain.cefr import CefrLevel

SCORES: Final = ("grammar", "vocabulary", "fluency", "pronunciation")
KEYS: Final = frozenset(
    {*SCORES, "cefrLevel", "summary", "strengths", "corrections", "vocabularySuggestions"}
    | {"nextFocus"}
)
MAX_TEXT: Final = 2000
MAX_ITEMS: Final = 20


def _exact_keys(value: Any, keys: frozenset[str], where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InvalidAnalysis(f"{where} is not a JSON object")
    if missing := sorted(keys - set(value)):
        raise InvalidAnalysis(f"{where} lacks {', '.join(missing)}")
    if extra := sorted(set(value) - keys):
        raise InvalidAnalysis(f"{where} has unexpected {', '.join(extra)}")
    return value


def _score(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidAnalysis(f"{where} is not an integer")
    if not 0 <= value <= 100:
        raise InvalidAnalysis(f"{where} is {value}, outside 0..100")
    return value


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidAnalysis(f"{where} is not a non-empty string")
    if len(value) > MAX_TEXT:
        raise InvalidAnalysis(f"{where} is longer than {MAX_TEXT} characters")
    return value.strip()


def _list(value: Any, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise InvalidAnalysis(f"{where} is not a list")
    if len(value) > MAX_ITEMS:
        raise InvalidAnalysis(f"{where} has more than {MAX_ITEMS} items")
    return value


def _correction(value: Any, where: str) -> Correction:
    keys = frozenset({"original", "corrected", "explanation", "category"})
    item = _exact_keys(value, keys, where)
    try:
        category = MistakeCategory(item["category"])
    except ValueError:
        raise InvalidAnalysis(f"{where}.category is not a known category") from None
    return Correction(
        original=_text(item["original"], f"{where}.original"),
        corrected=_text(item["corrected"], f"{where}.corrected"),
        explanation=_text(item["explanation"], f"{where}.explanation"),
        category=category,
    )


def _suggestion(value: Any, where: str) -> VocabularySuggestion:
    item = _exact_keys(value, frozenset({"word", "meaning", "example"}), where)
    return VocabularySuggestion(
        word=_text(item["word"], f"{where}.word"),
        meaning=_text(item["meaning"], f"{where}.meaning"),
        example=_text(item["example"], f"{where}.example"),
    )


def parse_result(data: Any) -> AnalysisResult:
    """The validated analysis in ``data``; raises ``InvalidAnalysis`` naming the first problem."""
    answer = _exact_keys(data, KEYS, "the answer")
    scores = {name: _score(answer[name], name) for name in SCORES}
    try:
        level = CefrLevel(answer["cefrLevel"])
    except (ValueError, TypeError):
        raise InvalidAnalysis("cefrLevel is not one of A1, A2, B1, B2, C1, C2") from None
    strengths = _list(answer["strengths"], "strengths")
    corrections = _list(answer["corrections"], "corrections")
    suggestions = _list(answer["vocabularySuggestions"], "vocabularySuggestions")
    return AnalysisResult(
        grammar=scores["grammar"],
        vocabulary=scores["vocabulary"],
        fluency=scores["fluency"],
        pronunciation=scores["pronunciation"],
        cefr_level=level,
        summary=_text(answer["summary"], "summary"),
        strengths=tuple(_text(s, f"strengths[{i}]") for i, s in enumerate(strengths)),
        corrections=tuple(
            _correction(c, f"corrections[{i}]") for i, c in enumerate(corrections)
        ),
        vocabulary_suggestions=tuple(
            _suggestion(s, f"vocabularySuggestions[{i}]") for i, s in enumerate(suggestions)
        ),
        next_focus=_text(answer["nextFocus"], "nextFocus"),
    )
