"""Calls in the schema: the coaching call, its transcript, `startCall`'s result and errors."""

from __future__ import annotations

from collections.abc import Awaitable, Iterable
from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Annotated, Self
from uuid import UUID

import strawberry
from strawberry import relay

from db.loaders import topics_by_id, transcript_turns_by_call
from db.models.analysis import Analysis as AnalysisRow
from db.models.calls import Call as CallRow
from db.models.calls import TranscriptTurn as TurnRow
from db.models.topics import Topic as TopicRow
from domain import calls, calls_queries
from resolvers.context import Context
from schema.analysis import Analysis, analysis_of_call
from schema.errors import RefusalError, UserError, enum_type
from schema.pagination import Connection
from schema.topics import Topic

if TYPE_CHECKING:  # the schema enums are the domain enums, registered under these names
    CallStatus = calls.CallStatus
    StartCallErrorCode = calls.StartCallErrorCode
else:
    CallStatus = enum_type(
        calls.CallStatus,
        "CallStatus",
        "Where a call is: REQUESTED (accepted, not yet sent to the phone provider), QUEUED, "
        "RINGING, IN_PROGRESS, then ENDED (see `endedReason`) or FAILED (never placed, see "
        "`failureReason`). A status only ever moves forward.",
        {
            "REQUESTED": "Accepted; the call is about to be handed to the phone provider.",
            "QUEUED": "Handed to the phone provider, which is about to dial.",
            "RINGING": "The learner's phone is ringing.",
            "IN_PROGRESS": "The learner answered; the conversation is on.",
            "ENDED": "The call is over (answered or not): see `endedReason` and `chargeMinor`.",
            "FAILED": "The call could not be placed: see `failureReason`. Nothing is charged.",
        },
    )
    StartCallErrorCode = enum_type(
        calls.StartCallErrorCode,
        "StartCallErrorCode",
        "Why `startCall` refused.",
        {
            "NO_PHONE": "The profile has no phone number to call.",
            "CALL_ALREADY_ACTIVE": "Another call is still active; wait for it to end.",
            "INSUFFICIENT_BALANCE": "The balance does not cover one minute of coaching.",
            "ACCOUNT_CLOSED": "The account is closed.",
            "TOPIC_NOT_FOUND": "`topicId` names no topic in the catalog (or a retired one).",
            "PROCESSING_RESTRICTED": "The learner restricted the processing of their data.",
        },
    )


@strawberry.enum(description="Who spoke a transcript turn.")
class TranscriptRole(Enum):
    COACH = strawberry.enum_value("coach", description="The AI coach.")
    LEARNER = strawberry.enum_value("learner", description="The learner.")


@strawberry.type(description="One turn of a call's transcript.")
class TranscriptTurn:
    role: TranscriptRole = strawberry.field(description="COACH (the AI) or LEARNER.")
    text: str = strawberry.field(description="What was said, as transcribed.")
    start_s: float | None = strawberry.field(
        description="Seconds from the start of the call when the turn began, when known."
    )
    end_s: float | None = strawberry.field(
        description="Seconds from the start of the call when the turn ended, when known."
    )

    @classmethod
    def from_model(cls, row: TurnRow) -> Self:
        return cls(role=TranscriptRole(row.role), text=row.text, start_s=row.start_s,
                   end_s=row.end_s)


Info = strawberry.Info[Context, None]


def _currency(root: Call, info: Info) -> str:
    return info.context.services.settings.currency


class _NotFetched:
    """Marks a related object the call's query did not fetch (None is a fetched "no topic")."""


NOT_FETCHED = _NotFetched()


def _topic(root: Call, info: Info) -> Topic | Awaitable[Topic | None] | None:
    """Synchronous when the page fetched the topic with its calls (``with_related``): an async
    resolver per node costs a task-like await in graphql-core; otherwise batched by a loader."""
    if not isinstance(root.fetched_topic, _NotFetched):
        return root.fetched_topic
    if root.row.topic_id is None:
        return None
    return _load_topic(root.row.topic_id, info)


async def _load_topic(topic_id: UUID, info: Info) -> Topic | None:
    row = await info.context.loaders.get("topics_by_id", topics_by_id).load(topic_id)
    return Topic.from_model(row) if row is not None else None


async def _transcript(root: Call, info: Info) -> list[TranscriptTurn]:
    loader = info.context.loaders.get("transcript_turns_by_call", transcript_turns_by_call)
    return [TranscriptTurn.from_model(r) for r in await loader.load(root.row.id)]


def _analysis(root: Call, info: Info) -> Analysis | Awaitable[Analysis | None] | None:
    """Synchronous when fetched with the page, like ``_topic``."""
    if not isinstance(root.fetched_analysis, _NotFetched):
        return root.fetched_analysis
    return analysis_of_call(root.row.id, info)


def _recording_url(root: Call, info: Info) -> str | None:
    """The link until it expires with the recording itself (30 days after the call)."""
    expires = root.row.recording_expires_at
    if root.row.recording_url is None or expires is None or expires <= info.context.now:
        return None
    return root.row.recording_url


@strawberry.type(
    description="A coaching call with the AI coach. Readable only by the learner it called."
)
class Call(relay.Node):
    id: relay.NodeID[str]
    row: strawberry.Private[CallRow]
    status: CallStatus = strawberry.field(description="Where the call is now.")
    ended_reason: str | None = strawberry.field(
        description="Why the call ended, as the phone provider reports it, e.g. "
        "`customer-ended-call`, `customer-did-not-answer`, `customer-busy`, `voicemail`."
    )
    failure_reason: str | None = strawberry.field(
        description="With FAILED: why the call could not be placed."
    )
    requested_at: datetime = strawberry.field(description="When the call was asked for (UTC).")
    started_at: datetime | None = strawberry.field(
        description="When the learner answered (UTC); null if they never did."
    )
    ended_at: datetime | None = strawberry.field(description="When the call ended (UTC).")
    duration_seconds: int | None = strawberry.field(
        description="Connected time in whole seconds, once the call is finished."
    )
    charge_minor: int | None = strawberry.field(
        description="What the call cost, in minor units of `currency`: per connected second, "
        "rounded up. 0 for unanswered, busy, voicemail and failed calls; null until the "
        "call is finished."
    )
    # The resolvers may return an awaitable (graphql-core awaits it); the field's type is this.
    analysis: Analysis | None = strawberry.field(  # type: ignore[assignment]
        resolver=_analysis,
        description="Claude's analysis of the call: null until the analysis job first runs "
        "after the call ends, and for calls it is never queued for (not a conversation, no "
        "learner speech, or the learner objected).",
    )

    currency: str = strawberry.field(
        resolver=_currency, description="Currency of `chargeMinor` (ISO 4217)."
    )
    topic: Topic | None = strawberry.field(  # type: ignore[assignment]
        resolver=_topic,
        description="The topic of the conversation; null for a free conversation.",
    )
    transcript: list[TranscriptTurn] = strawberry.field(
        resolver=_transcript,
        description="What was said, in order. Empty until the first turn, and for calls "
        "that were never a conversation (unanswered, busy, voicemail).",
    )
    recording_url: str | None = strawberry.field(
        resolver=_recording_url,
        description="Link to the call's recording at the phone provider. Null for calls that "
        "were never a conversation and after 30 days, when the recording is deleted.",
    )
    fetched_topic: strawberry.Private[Topic | _NotFetched | None] = NOT_FETCHED
    fetched_analysis: strawberry.Private[Analysis | _NotFetched | None] = NOT_FETCHED

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Self | None]:
        """``node(id:)``: the caller's own call, else null (never reveals another's)."""
        principal = info.context.principal
        out: list[Self | None] = []
        for node_id in node_ids:
            try:
                call_id = UUID(str(node_id))
            except ValueError:
                out.append(None)
                continue
            row = None if principal is None else await calls_queries.get_own_call(
                user_id=principal.user_id, call_id=call_id)
            out.append(cls.from_model(row) if row is not None else None)
        return out

    @classmethod
    def from_model(cls, row: CallRow) -> Self:
        return cls(
            id=str(row.id),
            row=row,
            status=calls.CallStatus(row.status),
            ended_reason=row.ended_reason,
            failure_reason=row.failure_reason,
            requested_at=row.requested_at,
            started_at=row.started_at,
            ended_at=row.ended_at,
            duration_seconds=row.duration_s,
            charge_minor=row.charge_minor,
        )


def with_related(row: CallRow, *, topic: bool, analysis: bool) -> Call:
    """A call whose ``topic`` and/or ``analysis`` were fetched in its own query
    (``select_related``), so those fields resolve without a loader round per node."""
    node = Call.from_model(row)
    if topic:
        topic_row = row.topic
        node.fetched_topic = (Topic.from_model(topic_row)
                              if isinstance(topic_row, TopicRow) else None)
    if analysis:
        analysis_row = getattr(row, "analysis", None)  # the reverse one-to-one, joined
        node.fetched_analysis = (Analysis.from_model(analysis_row)
                                 if isinstance(analysis_row, AnalysisRow) else None)
    return node


CallConnection = Connection[Call]


@strawberry.type(description="`startCall` refused: see `code` (and `field` for topicId).")
class StartCallError(RefusalError, UserError):
    code: StartCallErrorCode = strawberry.field(description="Why it was refused.")


StartCallResult = Annotated[
    Call | StartCallError,
    strawberry.union("StartCallResult", description="The requested call, or why not."),
]
