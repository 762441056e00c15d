"""The learner's proficiency level: it follows their recent analyses, and they can contest it.

``users.cefr_level`` is the median of the CEFR levels of the last ``RECENT`` done analyses
(ordered by when the call took place; with an even count the lower middle, so one good call
never lifts a level on its own). Every change is written to the level history with the analysis
that caused it and why. A learner may contest an automated level (KVKK Art. 11(g), GDPR
Art. 22): the level is flagged for human review, which pauses automatic changes, and a privacy
request of kind objection is recorded (``domain.privacy``) for a person to answer within 30
days.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Final
from uuid import UUID

from tortoise.backends.base.client import BaseDBAsyncClient

from db.locks import lock_user
from db.models.analysis import Analysis, LevelHistory
from db.models.privacy import PrivacyRequest
from domain import privacy
from domain.analysis import AnalysisStatus
from domain.cefr import CefrLevel
from domain.errors import DomainError
from domain.uow import Effects, UnitOfWork

RECENT: Final = 5
MAX_REASON: Final = 2000


def median_level(levels: Sequence[CefrLevel]) -> CefrLevel:
    """The middle level by difficulty (the lower middle for an even count)."""
    ordered = sorted(levels, key=lambda level: level.rank)
    return ordered[(len(ordered) - 1) // 2]


def _reason(levels: Sequence[CefrLevel], new: CefrLevel, old: str | None) -> str:
    n = len(levels)
    calls = "last analysed call" if n == 1 else f"last {n} analysed calls"
    listed = ", ".join(level.value for level in levels)
    return (
        f"The median level of your {calls} ({listed}, newest first) is {new.value}: "
        f"moved from {old or 'no level'} to {new.value}."
    )


async def follow_recent_analyses(
    conn: BaseDBAsyncClient | None, *, user_id: UUID, analysis_id: UUID, now: datetime
) -> LevelHistory | None:
    """Recompute the level after ``analysis_id`` was stored; a change is recorded with it."""
    user = await lock_user(conn, user_id)
    if user is None or user.level_under_review:
        return None
    recent = await (
        Analysis.filter(user_id=user_id, status=AnalysisStatus.DONE.value)
        .order_by("-call_at", "-completed_at")
        .limit(RECENT)
        .using_db(conn)
        .values_list("cefr_level", flat=True)
    )
    levels = [CefrLevel(str(level)) for level in recent if level]
    if not levels:
        return None
    new = median_level(levels)
    if new.value == user.cefr_level:
        return None
    old = user.cefr_level
    await type(user).filter(id=user_id).using_db(conn).update(cefr_level=new.value)
    return await LevelHistory.create(
        user_id=user_id, at=now, cefr_level=new.value, previous_level=old,
        analysis_id=analysis_id, reason=_reason(levels, new, old), using_db=conn,
    )


class ContestLevelErrorCode(Enum):
    NO_LEVEL = "NO_LEVEL"
    ALREADY_UNDER_REVIEW = "ALREADY_UNDER_REVIEW"
    INVALID_REASON = "INVALID_REASON"
    ACCOUNT_CLOSED = "ACCOUNT_CLOSED"


class ContestLevelRefused(DomainError):
    pass


@dataclass(frozen=True, slots=True)
class LevelContest:
    """A contested level and the privacy request that records the objection."""

    level: CefrLevel
    request: PrivacyRequest


async def contest_level(
    *, effects: Effects, user_id: UUID, reason: str, now: datetime
) -> LevelContest:
    """Flag the learner's automated level for human review and record their objection."""
    text = " ".join(reason.split())
    if not text or len(text) > MAX_REASON:
        raise ContestLevelRefused(
            ContestLevelErrorCode.INVALID_REASON,
            f"Say why you disagree with your level, in 1 to {MAX_REASON} characters.",
            "reason",
        )
    async with UnitOfWork(effects) as uow:
        user = await lock_user(uow.conn, user_id)
        if user is None or user.status != "active":
            raise ContestLevelRefused(
                ContestLevelErrorCode.ACCOUNT_CLOSED, "This account is closed."
            )
        if user.cefr_level is None:
            raise ContestLevelRefused(
                ContestLevelErrorCode.NO_LEVEL,
                "You have no level yet: it is set after your first analysed call.",
            )
        if user.level_under_review:
            raise ContestLevelRefused(
                ContestLevelErrorCode.ALREADY_UNDER_REVIEW,
                "Your level is already being reviewed by a person.",
            )
        await type(user).filter(id=user_id).using_db(uow.conn).update(level_under_review=True)
        # Received (due in 30 days), audited and announced like every other privacy request.
        request = await privacy.open_request(
            uow, user=user, kind=privacy.RequestKind.OBJECTION, now=now,
            details={"subject": "cefr_level", "reason": text, "level": user.cefr_level},
        )
        return LevelContest(level=CefrLevel(user.cefr_level), request=request)
