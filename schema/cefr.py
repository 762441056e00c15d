"""The CEFR level enum as the schema shows it."""

from __future__ import annotations

import strawberry

from domain import cefr

# ``strawberry.enum`` marks the class in place, so schema and domain share one enum class (and
# type checkers see a real type rather than a variable).
CefrLevel = cefr.CefrLevel
strawberry.enum(
    CefrLevel,
    name="CefrLevel",
    description="A Common European Framework of Reference level, from A1 (beginner) to C2 "
    "(mastery).",
)
