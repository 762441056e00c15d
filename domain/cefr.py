"""CEFR levels (A1 beginner … C2 mastery): the scale topics, preferences and analyses share."""

from __future__ import annotations

from enum import Enum


class CefrLevel(Enum):
    A1 = "A1"
    A2 = "A2"
    B1 = "B1"
    B2 = "B2"
    C1 = "C1"
    C2 = "C2"

    @property
    def rank(self) -> int:
        """0 for A1 up to 5 for C2, so levels compare by difficulty rather than by name."""
        return _ORDER.index(self)


_ORDER = list(CefrLevel)


def levels_between(low: CefrLevel, high: CefrLevel) -> list[CefrLevel]:
    """Every level from ``low`` to ``high`` inclusive (empty when ``low`` is above ``high``)."""
    return _ORDER[low.rank : high.rank + 1]
