"""The CEFR level enum as the schema shows it."""

from __future__ import annotations

from domain import cefr
from schema.errors import enum_type

# ``strawberry.enum`` marks the class in place, so schema and domain share one enum class (and
# type checkers see a real type rather than a variable).
CefrLevel = cefr.CefrLevel
enum_type(
    CefrLevel,
    "CefrLevel",
    "A Common European Framework of Reference level, from A1 (beginner) to C2 (mastery).",
    {
        "A1": "Beginner: simple phrases about immediate needs.",
        "A2": "Elementary: routine exchanges about familiar matters.",
        "B1": "Intermediate: handles most everyday situations and can describe experiences.",
        "B2": "Upper intermediate: talks fluently and spontaneously with native speakers.",
        "C1": "Advanced: flexible, precise language for social and professional purposes.",
        "C2": "Mastery: understands virtually everything and expresses fine shades of meaning.",
    },
)
