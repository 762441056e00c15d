"""Support access in the schema: audited learner lookups, the learner's access log, and the
destruction log of the retention job."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Self, cast

import strawberry
from strawberry.scalars import JSON

from db.models.accounts import User as UserRow
from db.models.privacy import AuditLog as AuditRow
from db.models.privacy import RetentionRun as RetentionRow
from domain import support_access
from resolvers.context import Context
from schema.errors import RefusalError, UserError, enum_type
from schema.ids import encode

if TYPE_CHECKING:
    SupportAccessErrorCode = support_access.SupportAccessErrorCode
else:
    SupportAccessErrorCode = enum_type(
        support_access.SupportAccessErrorCode, "SupportAccessErrorCode",
        "Why a support read was refused.",
        values={
            "REASON_REQUIRED": "A reason of 5 to 500 characters is required.",
            "LEARNER_REQUIRED": "Give exactly one of `email` and `userId`.",
            "NOT_FOUND": "No active learner matches.",
        },
    )

Info = strawberry.Info[Context, None]


async def _actor_name(root: AccessLogEntry, info: Info) -> str | None:
    if root.row.actor_id is None:
        return None
    staff = await info.context.loaders.users.load(root.row.actor_id)
    return staff.full_name if staff is not None else None


@strawberry.type(description="One time a CallFluently staff member accessed your data.")
class AccessLogEntry:
    row: strawberry.Private[AuditRow]
    at: datetime = strawberry.field(description="When (UTC).")
    actor_role: str = strawberry.field(description="The staff role: support or admin.")
    actor_name: str | None = strawberry.field(
        resolver=_actor_name, description="The staff member's name, when on record."
    )
    action: str = strawberry.field(
        description="What was read: `support.lookup_learner` (your profile) or "
        "`support.read_calls` (your calls and analysis scores)."
    )
    reason: str | None = strawberry.field(description="Why, as the staff member wrote it.")

    @classmethod
    def from_model(cls, row: AuditRow) -> Self:
        return cls(row=row, at=row.created_at, actor_role=row.actor_role, action=row.action,
                   reason=row.reason)


@strawberry.type(description="A learner's profile as support sees it (every read is audited).")
class SupportLearner:
    user_id: strawberry.ID = strawberry.field(description="The learner's global User ID.")
    full_name: str | None = strawberry.field(description="Full name.")
    email: str | None = strawberry.field(description="Email address.")
    phone: str | None = strawberry.field(description="Phone number (E.164).")
    timezone: str = strawberry.field(description="IANA timezone.")
    cefr_level: str | None = strawberry.field(description="Current CEFR level, if assessed.")
    objects_to_analysis: bool = strawberry.field(description="Objected to Claude analysis.")
    processing_restricted: bool = strawberry.field(description="Processing is restricted.")
    created_at: datetime = strawberry.field(description="When the account was created.")

    @classmethod
    def from_model(cls, row: UserRow) -> Self:
        return cls(
            user_id=strawberry.ID(encode("User", row.id)), full_name=row.full_name,
            email=row.email, phone=row.phone, timezone=row.timezone, cefr_level=row.cefr_level,
            objects_to_analysis=row.objects_to_analysis,
            processing_restricted=row.processing_restricted, created_at=row.created_at,
        )


@strawberry.type(
    description="A call's troubleshooting data for support: status, timing and analysis "
    "scores. Transcript text is not shown to support."
)
class SupportCallSummary:
    call_id: strawberry.ID = strawberry.field(description="The call's global ID.")
    status: str = strawberry.field(description="Call status, e.g. ended or failed.")
    ended_reason: str | None = strawberry.field(description="The provider's end reason.")
    failure_reason: str | None = strawberry.field(description="Why it could not be placed.")
    requested_at: datetime = strawberry.field(description="When it was asked for.")
    started_at: datetime | None = strawberry.field(description="When it was answered.")
    ended_at: datetime | None = strawberry.field(description="When it ended.")
    duration_seconds: int | None = strawberry.field(description="Connected seconds.")
    charge_minor: int | None = strawberry.field(description="What it cost, in minor units.")
    analysis_status: str | None = strawberry.field(description="Analysis status, if any.")
    analysis_error: str | None = strawberry.field(description="Why the analysis failed.")
    grammar: int | None = strawberry.field(description="Grammar score 0-100.")
    vocabulary: int | None = strawberry.field(description="Vocabulary score 0-100.")
    fluency: int | None = strawberry.field(description="Fluency score 0-100.")
    pronunciation: int | None = strawberry.field(description="Pronunciation estimate 0-100.")
    cefr_level: str | None = strawberry.field(description="CEFR level of this call.")

    @classmethod
    def from_pair(cls, pair: support_access.CallWithAnalysis) -> Self:
        call, analysis = pair.call, pair.analysis
        return cls(
            call_id=strawberry.ID(encode("Call", call.id)), status=call.status,
            ended_reason=call.ended_reason, failure_reason=call.failure_reason,
            requested_at=call.requested_at, started_at=call.started_at, ended_at=call.ended_at,
            duration_seconds=call.duration_s, charge_minor=call.charge_minor,
            analysis_status=analysis.status if analysis else None,
            analysis_error=analysis.error if analysis else None,
            grammar=analysis.grammar if analysis else None,
            vocabulary=analysis.vocabulary if analysis else None,
            fluency=analysis.fluency if analysis else None,
            pronunciation=analysis.pronunciation if analysis else None,
            cefr_level=analysis.cefr_level if analysis else None,
        )


@strawberry.type(description="A learner's recent calls, as support sees them.")
class SupportLearnerCalls:
    calls: list[SupportCallSummary] = strawberry.field(description="Newest first.")


@strawberry.type(description="A support read was refused; nothing was read or logged.")
class SupportAccessError(RefusalError, UserError):
    code: SupportAccessErrorCode = strawberry.field(description="Why it was refused.")


@strawberry.type(description="One run of the daily retention job (the KVKK destruction log).")
class RetentionRun:
    ran_at: datetime = strawberry.field(description="The instant the rules were applied at.")
    counts: JSON = strawberry.field(
        description="How many records each rule removed, e.g. `recording_links_dropped`."
    )

    @classmethod
    def from_model(cls, row: RetentionRow) -> Self:
        return cls(ran_at=row.ran_at, counts=cast(JSON, row.counts))


SupportLookupLearnerResult = Annotated[
    SupportLearner | SupportAccessError,
    strawberry.union("SupportLookupLearnerResult", description="The learner, or why not."),
]
SupportLearnerCallsResult = Annotated[
    SupportLearnerCalls | SupportAccessError,
    strawberry.union("SupportLearnerCallsResult", description="The calls, or why not."),
]
