"""Reading a learner's own calls: one by id, or a keyset page newest first."""

from __future__ import annotations

from uuid import UUID

from tortoise.expressions import Q

from db.models.calls import Call
from domain.calls import CallStatus
from domain.cursors import TimeCursor


class CallCursor(TimeCursor[UUID]):
    """A position in the newest-first list: the last row's request time and id."""

    __slots__ = ()

    @classmethod
    def decode(cls, value: str) -> CallCursor:
        """Raises ValueError for anything this module did not write."""
        return cls.parse(value, UUID)

    @classmethod
    def of(cls, call: Call) -> CallCursor:
        return cls(call.requested_at, call.id)


async def get_own_call(*, user_id: UUID, call_id: UUID) -> Call | None:
    """The call if it belongs to ``user_id``; another learner's call is simply not found."""
    return await Call.get_or_none(id=call_id, user_id=user_id)


async def list_own_calls(
    *,
    user_id: UUID,
    limit: int,
    after: CallCursor | None = None,
    status: CallStatus | None = None,
    related: tuple[str, ...] = (),
) -> list[Call]:
    """Up to ``limit`` of the learner's calls, newest first, strictly after ``after``, with the
    ``related`` one-to-one relations (``topic``, ``analysis``) joined into the same statement."""
    query = Call.filter(user_id=user_id)
    if related:
        query = query.select_related(*related)
    if status is not None:
        query = query.filter(status=status.value)
    if after is not None:
        query = query.filter(
            Q(requested_at__lt=after.at) | Q(requested_at=after.at, id__lt=after.key)
        )
    return await query.order_by("-requested_at", "-id").limit(limit)
