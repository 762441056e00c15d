"""Reading analyses back: the learner's mistakes across calls, newest call first."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from tortoise.expressions import Q

from db.models.analysis import Correction
from domain.analysis import MistakeCategory


@dataclass(frozen=True, slots=True)
class MistakeCursor:
    """A position in the list: the call time of the last row and its id.

    Within one call, mistakes keep the order the analysis gave them (most important first).
    """

    at: datetime
    row_id: int

    def encode(self) -> str:
        return f"{self.at.isoformat()}|{self.row_id}"

    @classmethod
    def decode(cls, value: str) -> MistakeCursor:
        """Raises ValueError for anything this module did not write."""
        stamp, _, row_id = value.partition("|")
        at = datetime.fromisoformat(stamp)
        if at.tzinfo is None:
            raise ValueError("cursor time has no timezone")
        return cls(at, int(row_id))

    @classmethod
    def of(cls, row: Correction) -> MistakeCursor:
        return cls(row.created_at, row.id)


async def list_mistakes(
    *,
    user_id: UUID,
    limit: int,
    after: MistakeCursor | None = None,
    category: MistakeCategory | None = None,
) -> list[Correction]:
    """Up to ``limit`` of the learner's corrections, newest call first, strictly after ``after``."""
    query = Correction.filter(user_id=user_id)
    if category is not None:
        query = query.filter(category=category.value)
    if after is not None:
        query = query.filter(
            Q(created_at__lt=after.at) | Q(created_at=after.at, id__gt=after.row_id)
        )
    return await query.order_by("-created_at", "id").limit(limit)
