"""Analysis resolvers: progress, mistakes, asking again for a failed analysis, contesting a
level."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry

from domain import analysis, analysis_levels, analysis_queries, analysis_run, progress
from domain.analysis_queries import MistakeCursor
from resolvers.context import Context, graphql_error
from schema.analysis import (
    Analysis,
    ContestLevelError,
    ContestLevelResult,
    LevelContest,
    Mistake,
    MistakeCategory,
    MistakeConnection,
    RequestReanalysisError,
    RequestReanalysisResult,
)
from schema.ids import BadId, decode_uuid
from schema.pagination import connection, decode_cursor, page_size
from schema.progress import Progress, ProgressGranularity

Info = strawberry.Info[Context, None]


async def my_progress(
    info: Info,
    from_: Annotated[
        datetime | None,
        strawberry.argument(name="from", description="Start of the period (default: recent "
                            "buckets, see `granularity`)."),
    ] = None,
    to: Annotated[
        datetime | None,
        strawberry.argument(description="End of the period, exclusive (default: now)."),
    ] = None,
    granularity: Annotated[
        ProgressGranularity, strawberry.argument(description="Bucket size (default WEEK).")
    ] = progress.Granularity.WEEK,
) -> Progress:
    ctx = info.context
    principal = ctx.require_scope("progress:read")
    user = await ctx.loaders.users.load(principal.user_id)
    if user is None:
        raise graphql_error("Sign in to do this.", "UNAUTHENTICATED")
    try:
        data = await progress.progress(
            user_id=user.id, timezone=user.timezone, start=from_, end=to,
            granularity=progress.Granularity(granularity.value), now=ctx.now,
        )
    except progress.ProgressRefused as exc:
        raise graphql_error(exc.message, "BAD_USER_INPUT", field=exc.field) from None
    return Progress.build(data, level=user.cefr_level, under_review=user.level_under_review)


async def my_mistakes(
    info: Info,
    first: Annotated[
        int | None, strawberry.argument(description="Page size: 20 by default, at most 100.")
    ] = None,
    after: Annotated[
        str | None, strawberry.argument(description="`endCursor` of the previous page.")
    ] = None,
    category: Annotated[
        MistakeCategory | None, strawberry.argument(description="Only mistakes of this kind.")
    ] = None,
) -> MistakeConnection:
    principal = info.context.require_scope("progress:read")
    try:
        size = page_size(first)
        raw = decode_cursor(after)
        cursor = MistakeCursor.decode(raw) if raw else None
    except ValueError as exc:
        message = str(exc) if "first" in str(exc) else "Invalid cursor."
        raise graphql_error(message, "BAD_USER_INPUT") from None
    rows = await analysis_queries.list_mistakes(
        user_id=principal.user_id, limit=size + 1, after=cursor,
        category=analysis.MistakeCategory(category.value) if category is not None else None,
    )
    return connection(
        [Mistake.from_model(r) for r in rows], size=size,
        cursor_of=lambda m: MistakeCursor.of(m.row).encode(), had_previous=cursor is not None,
    )


async def request_reanalysis(
    info: Info,
    call_id: Annotated[
        strawberry.ID, strawberry.argument(description="The call whose analysis failed.")
    ],
) -> RequestReanalysisResult:
    ctx = info.context
    principal = ctx.require_scope("calls:write")
    try:
        row = await analysis_run.request_reanalysis(
            effects=ctx.services.effects, user_id=principal.user_id,
            call_id=decode_uuid(str(call_id), "Call"), now=ctx.now,
        )
    except BadId:
        return RequestReanalysisError(
            code=analysis_run.RequestReanalysisErrorCode.NOT_FOUND, message="No such call.",
            field="callId",
        )
    except analysis_run.RequestReanalysisRefused as exc:
        return RequestReanalysisError.from_refusal(exc)
    return Analysis.from_model(row)


async def contest_level(
    info: Info,
    reason: Annotated[
        str, strawberry.argument(description="Why the learner disagrees, 1–2000 characters.")
    ],
) -> ContestLevelResult:
    ctx = info.context
    principal = ctx.require_principal()
    if principal.scopes is not None:
        raise graphql_error("Sign in to contest your level: API keys cannot.", "FORBIDDEN")
    try:
        contest = await analysis_levels.contest_level(
            effects=ctx.services.effects, user_id=principal.user_id, reason=reason, now=ctx.now
        )
    except analysis_levels.ContestLevelRefused as exc:
        return ContestLevelError.from_refusal(exc)
    return LevelContest.from_contest(contest)


@strawberry.type
class AnalysisQuery:
    progress: Progress = strawberry.field(
        resolver=my_progress,
        description="The signed-in learner's progress: per DAY, WEEK or MONTH bucket in their "
        "timezone, calls, minutes and average scores; totals, topics, streak and level "
        "history. Without `from`/`to`: the last 30 days, 12 weeks or 12 months. Requires "
        "sign-in (API keys: `progress:read`).",
    )
    mistakes: MistakeConnection = strawberry.field(
        resolver=my_mistakes,
        description="The signed-in learner's mistakes across all their calls, newest call "
        "first, optionally of one category. `first` defaults to 20, at most 100. Requires "
        "sign-in (API keys: `progress:read`).",
    )


@strawberry.type
class AnalysisMutation:
    request_reanalysis: RequestReanalysisResult = strawberry.mutation(
        resolver=request_reanalysis,
        description="Ask again for the analysis of one of the learner's calls after it FAILED. "
        "Requires sign-in (API keys: `calls:write`); refused if the learner objected to "
        "analysis or restricted processing.",
    )
    contest_level: ContestLevelResult = strawberry.mutation(
        resolver=contest_level,
        description="Contest the automatically assessed CEFR level (KVKK Art. 11(g), GDPR "
        "Art. 22): flags it for review by a person, pauses automatic changes and records a "
        "privacy request of kind objection, answered within 30 days. Requires a signed-in "
        "session (not an API key).",
    )
