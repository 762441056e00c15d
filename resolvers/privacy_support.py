"""Support-side privacy resolvers (audited reads of a learner, refunds due, the destruction log)
and the learner's own access log."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry import relay

from domain import privacy, retention, support_access
from domain.principal import Role
from resolvers.context import Context, graphql_error
from resolvers.effects import WRITES
from schema.ids import BadId, decode_uuid
from schema.privacy import PrivacyRequest, PrivacyRequestKind, PrivacyRequestStatus
from schema.privacy_support import (
    AccessLogEntry,
    RetentionRun,
    SupportAccessError,
    SupportCallSummary,
    SupportLearner,
    SupportLearnerCalls,
    SupportLearnerCallsResult,
    SupportLookupLearnerResult,
)

Info = strawberry.Info[Context, None]
MAX_ROWS = 100


def _limit(first: int) -> int:
    if not 1 <= first <= MAX_ROWS:
        raise graphql_error(f"`first` must be between 1 and {MAX_ROWS}.", "BAD_USER_INPUT")
    return first


def _not_found() -> SupportAccessError:
    return SupportAccessError(
        code=support_access.SupportAccessErrorCode.NOT_FOUND, message="No such learner.",
        field="userId",
    )


FIRST = strawberry.argument(description="How many, 1 to 100.")
REASON = strawberry.argument(
    description="Why you need this (5 to 500 characters); logged and shown to the learner.")


async def access_log(
    info: Info, first: Annotated[int, FIRST] = 50
) -> list[AccessLogEntry]:
    principal = info.context.require_principal()
    rows = await support_access.access_log(user_id=principal.user_id, limit=_limit(first))
    return [AccessLogEntry.from_model(r) for r in rows]


async def support_lookup_learner(
    info: Info,
    reason: Annotated[str, REASON],
    email: Annotated[str | None, strawberry.argument(
        description="The learner's email (any case); or give `userId`.")] = None,
    user_id: Annotated[relay.GlobalID | None, strawberry.argument(
        description="The learner's global User ID; or give `email`.")] = None,
) -> SupportLookupLearnerResult:
    ctx = info.context
    principal = ctx.require_role(Role.SUPPORT, Role.ADMIN)
    try:
        uid = decode_uuid(str(user_id), "User") if user_id is not None else None
    except BadId:
        return _not_found()
    try:
        row = await support_access.lookup_learner(
            effects=ctx.services.effects, actor=privacy.Actor.of(principal), email=email,
            user_id=uid, reason=reason, now=ctx.now,
        )
    except support_access.SupportAccessRefused as exc:
        return SupportAccessError.from_refusal(exc)
    return SupportLearner.from_model(row)


async def support_learner_calls(
    info: Info,
    user_id: Annotated[relay.GlobalID, strawberry.argument(
        description="The learner's global User ID.")],
    reason: Annotated[str, REASON],
    first: Annotated[int, FIRST] = 20,
) -> SupportLearnerCallsResult:
    ctx = info.context
    principal = ctx.require_role(Role.SUPPORT, Role.ADMIN)
    try:
        uid = decode_uuid(str(user_id), "User")
    except BadId:
        return _not_found()
    try:
        pairs = await support_access.learner_calls(
            effects=ctx.services.effects, actor=privacy.Actor.of(principal), user_id=uid,
            reason=reason, now=ctx.now, limit=_limit(first),
        )
    except support_access.SupportAccessRefused as exc:
        return SupportAccessError.from_refusal(exc)
    return SupportLearnerCalls(calls=[SupportCallSummary.from_pair(p) for p in pairs])


async def support_privacy_requests(
    info: Info,
    kind: Annotated[PrivacyRequestKind | None, strawberry.argument(
        description="Only requests of this kind.")] = None,
    status: Annotated[PrivacyRequestStatus | None, strawberry.argument(
        description="Only requests in this status.")] = None,
    first: Annotated[int, FIRST] = 50,
) -> list[PrivacyRequest]:
    info.context.require_role(Role.SUPPORT, Role.ADMIN)
    rows = await privacy.list_for_staff(kind=kind, status=status, limit=_limit(first))
    return [PrivacyRequest.from_model(r) for r in rows]


async def retention_runs(
    info: Info, first: Annotated[int, FIRST] = 20
) -> list[RetentionRun]:
    info.context.require_role(Role.SUPPORT, Role.ADMIN)
    return [RetentionRun.from_model(r) for r in await retention.recent_runs(limit=_limit(first))]


@strawberry.type
class PrivacySupportQuery:
    access_log: list[AccessLogEntry] = strawberry.field(
        resolver=access_log,
        description="Who of our staff accessed your data, when and why, newest first. "
        "Requires sign-in.",
    )
    support_lookup_learner: SupportLookupLearnerResult = strawberry.field(
        resolver=support_lookup_learner, metadata=WRITES,
        description="Find a learner by email or user id for troubleshooting. The reason is "
        "written to the audit log and shown to the learner. Support and admin only; POST only "
        "(it writes).",
    )
    support_learner_calls: SupportLearnerCallsResult = strawberry.field(
        resolver=support_learner_calls, metadata=WRITES,
        description="A learner's recent calls and analysis scores (no transcript text). The "
        "reason is written to the audit log and shown to the learner. Support and admin only; "
        "POST only (it writes).",
    )
    support_privacy_requests: list[PrivacyRequest] = strawberry.field(
        resolver=support_privacy_requests,
        description="Privacy requests to work on (pseudonymous), earliest due first, e.g. "
        "DELETION requests with a `balanceAtClosure` to refund. Support and admin only.",
    )
    retention_runs: list[RetentionRun] = strawberry.field(
        resolver=retention_runs,
        description="The retention job's destruction log, newest first. Support and admin only.",
    )
