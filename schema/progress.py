"""Progress in the schema: buckets over time, totals, topics, streak and level history."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Self

import strawberry

from db.loaders import analyses_by_id, topics_by_id
from db.models.analysis import LevelHistory as LevelHistoryRow
from domain import progress
from resolvers.context import Context
from schema.analysis import Analysis
from schema.cefr import CefrLevel
from schema.errors import enum_type
from schema.topics import Topic

if TYPE_CHECKING:
    ProgressGranularity = progress.Granularity
else:
    ProgressGranularity = enum_type(
        progress.Granularity,
        "ProgressGranularity",
        "Bucket size: DAY, WEEK (ISO weeks, Monday first) or MONTH, in the learner's timezone.",
        {
            "DAY": "Local calendar days (at most 366 at once).",
            "WEEK": "ISO weeks starting on Monday (at most 260 at once).",
            "MONTH": "Calendar months (at most 120 at once).",
        },
    )

Info = strawberry.Info[Context, None]


@strawberry.type(description="Calls, talk time and average scores over some calls.")
class ProgressSummary:
    calls: int = strawberry.field(description="Answered calls.")
    minutes: float = strawberry.field(description="Connected minutes, to two decimals.")
    analyzed_calls: int = strawberry.field(description="Calls with a DONE analysis.")
    average_grammar: float | None = strawberry.field(
        description="Mean grammar score of the analysed calls; null when none."
    )
    average_vocabulary: float | None = strawberry.field(
        description="Mean vocabulary score of the analysed calls; null when none."
    )
    average_fluency: float | None = strawberry.field(
        description="Mean fluency score of the analysed calls; null when none."
    )
    average_pronunciation: float | None = strawberry.field(
        description="Mean pronunciation score (transcript estimates) of the analysed calls."
    )

    @staticmethod
    def fields(tally: progress.Tally) -> dict[str, object]:
        return {
            "calls": tally.calls,
            "minutes": round(tally.seconds / 60, 2),
            "analyzed_calls": tally.scored,
            "average_grammar": tally.average(tally.grammar_sum),
            "average_vocabulary": tally.average(tally.vocabulary_sum),
            "average_fluency": tally.average(tally.fluency_sum),
            "average_pronunciation": tally.average(tally.pronunciation_sum),
        }

    @classmethod
    def from_tally(cls, tally: progress.Tally) -> Self:
        return cls(**ProgressSummary.fields(tally))  # type: ignore[arg-type]


@strawberry.type(description="One day, week or month of progress.")
class ProgressBucket(ProgressSummary):
    local_date: date = strawberry.field(
        description="The first local day of the bucket in the learner's timezone."
    )
    start: datetime = strawberry.field(description="The bucket's first instant (UTC).")
    end: datetime = strawberry.field(description="The instant after the bucket (UTC).")

    @classmethod
    def from_bucket(cls, bucket: progress.Bucket) -> Self:
        return cls(
            local_date=bucket.local_date, start=bucket.start, end=bucket.end,
            **ProgressSummary.fields(bucket.tally),  # type: ignore[arg-type]
        )


async def _topic(root: TopicProgress, info: Info) -> Topic | None:
    if root.topic_id is None:
        return None
    row = await info.context.loaders.get("topics_by_id", topics_by_id).load(root.topic_id)
    return Topic.from_model(row) if row is not None else None


@strawberry.type(description="Progress on one topic over the period.")
class TopicProgress(ProgressSummary):
    topic_id: strawberry.Private[object]
    topic: Topic | None = strawberry.field(
        resolver=_topic, description="The topic; null for free conversations."
    )

    @classmethod
    def from_tally(cls, tally: progress.TopicTally) -> Self:  # type: ignore[override]
        return cls(topic_id=tally.topic_id, **ProgressSummary.fields(tally.tally))  # type: ignore[arg-type]


async def _analysis(root: LevelChange, info: Info) -> Analysis | None:
    if root.row.analysis_id is None:
        return None
    loader = info.context.loaders.get("analyses_by_id", analyses_by_id)
    row = await loader.load(root.row.analysis_id)
    return Analysis.from_model(row) if row is not None else None


@strawberry.type(description="A change of the learner's level, and why it changed.")
class LevelChange:
    row: strawberry.Private[LevelHistoryRow]
    at: datetime = strawberry.field(description="When the level changed (UTC).")
    cefr_level: CefrLevel = strawberry.field(description="The new level.")
    previous_level: CefrLevel | None = strawberry.field(
        description="The level before; null for the first level."
    )
    reason: str = strawberry.field(description="Why it changed, in words.")
    analysis: Analysis | None = strawberry.field(
        resolver=_analysis, description="The analysis that caused the change."
    )

    @classmethod
    def from_model(cls, row: LevelHistoryRow) -> Self:
        previous = row.previous_level
        return cls(
            row=row, at=row.at, cefr_level=CefrLevel(row.cefr_level),
            previous_level=CefrLevel(previous) if previous else None, reason=row.reason,
        )


@strawberry.type(
    description="The learner's progress over a period: buckets, totals, topics, streak and "
    "level history. The period is widened to whole buckets in the learner's timezone."
)
class Progress:
    timezone: str = strawberry.field(description="The learner's IANA timezone used for buckets.")
    granularity: ProgressGranularity = strawberry.field(description="The bucket size.")
    period_start: datetime = strawberry.field(description="Start of the first bucket (UTC).")
    period_end: datetime = strawberry.field(description="End of the last bucket (UTC).")
    buckets: list[ProgressBucket] = strawberry.field(
        description="Every bucket of the period in order, empty ones included."
    )
    totals: ProgressSummary = strawberry.field(description="The whole period.")
    topics: list[TopicProgress] = strawberry.field(
        description="Per topic over the period, most practised first."
    )
    current_streak_days: int = strawberry.field(
        description="Consecutive days, in the learner's timezone, with an answered call, "
        "ending today (or yesterday, when today has no call yet); 0 when broken."
    )
    level_history: list[LevelChange] = strawberry.field(
        description="Level changes within the period, oldest first."
    )
    current_level: CefrLevel | None = strawberry.field(
        description="The learner's level now: the median of their last 5 analysed calls."
    )
    level_under_review: bool = strawberry.field(
        description="True while a person reviews a contested level (automatic changes pause)."
    )

    @classmethod
    def build(cls, data: progress.Progress, *, level: str | None, under_review: bool) -> Self:
        return cls(
            timezone=data.timezone,
            granularity=data.granularity,
            period_start=data.start,
            period_end=data.end,
            buckets=[ProgressBucket.from_bucket(b) for b in data.buckets],
            totals=ProgressSummary.from_tally(data.totals),
            topics=[TopicProgress.from_tally(t) for t in data.topics],
            current_streak_days=data.streak_days,
            level_history=[LevelChange.from_model(h) for h in data.level_history],
            current_level=CefrLevel(level) if level else None,
            level_under_review=under_review,
        )
