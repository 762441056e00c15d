"""Reading analyses back: the learner's mistakes across calls, newest call first."""

from __future__ import annotations

from uuid import UUID

from tortoise.expressions import Q

from db.models.analysis import Correction
from domain.analysis import MistakeCategory
from domain.cursors import TimeCursor


class MistakeCursor(TimeCursor[int]):
    """A position in the list: the call time of the last row and its id.

    Within one call, mistakes keep the order the analysis gave them (most important first).
    """

    __slots__ = ()

    @classmethod
    def decode(cls, value: str) -> MistakeCursor:
        """Raises ValueError for anything this module did not write."""
        return cls.parse(value, int)

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
            Q(created_at__lt=after.at) | Q(created_at=after.at, id__gt=after.key)
        )
    return await query.order_by("-created_at", "id").limit(limit)
