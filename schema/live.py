"""Live events in the schema: the ``Event`` interface and one type per event-log type."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

import strawberry

from domain.live import EventType
from domain.ports import PublishedEvent
from schema.billing import LedgerEntryKind
from schema.calls import CallStatus, TranscriptRole
from schema.cefr import CefrLevel
from schema.ids import encode

logger = logging.getLogger("callfluently.live")


@strawberry.interface(
    description="Something that happened to the signed-in learner, as recorded in the event log. "
    "Events arrive in the order they were logged; each is delivered once per subscription."
)
class Event:
    event_id: strawberry.ID = strawberry.field(
        description="The event-log id. Pass the last one you received as `after` when you "
        "subscribe again, to get everything that happened since, with no gap and no duplicate."
    )
    at: datetime = strawberry.field(description="When the event was logged (UTC).")


@strawberry.interface(description="An event about one call: what `callUpdates` streams.")
class CallEvent(Event):
    call_id: strawberry.ID = strawberry.field(description="The call this event is about.")


@strawberry.type(description="A call moved forward: requested → queued → ringing → "
                 "in_progress → ended, or failed.")
class CallStatusChanged(CallEvent):
    status: CallStatus = strawberry.field(description="The new status.")
    previous_status: CallStatus | None = strawberry.field(
        description="The status before, or null for a new call."
    )
    ended_reason: str | None = strawberry.field(
        description="Why the call ended, as the telephony provider reported it (ended only)."
    )


@strawberry.type(description="A line of the live transcript. Partial lines may be followed by "
                 "the final line for the same utterance.")
class TranscriptLine(CallEvent):
    role: TranscriptRole = strawberry.field(description="Who spoke: COACH or LEARNER.")
    text: str = strawberry.field(description="What was said.")
    final: bool = strawberry.field(
        description="True for the final transcription of an utterance; false for a partial one."
    )
    seq: int | None = strawberry.field(
        description="Position of a final line in the stored transcript (null for partials)."
    )


@strawberry.type(description="A call ended: its duration and what it cost.")
class CallEnded(CallEvent):
    status: CallStatus = strawberry.field(description="The final status: ENDED or FAILED.")
    ended_reason: str | None = strawberry.field(description="Why the call ended.")
    duration_seconds: int = strawberry.field(description="How long the call lasted, in seconds.")
    charge_minor: int = strawberry.field(
        description="What was charged to the balance, in minor units (0 for a free call)."
    )
    currency: str = strawberry.field(description="ISO 4217 currency of `chargeMinor`.")


@strawberry.type(description="Scores of one analysed call, each 0 to 100.")
class AnalysisScores:
    grammar: int | None = strawberry.field(description="Grammar accuracy.")
    vocabulary: int | None = strawberry.field(description="Range and precision of vocabulary.")
    fluency: int | None = strawberry.field(description="Flow, pace and hesitation.")
    pronunciation: int | None = strawberry.field(
        description="An estimate from the transcript's recognition evidence, not from audio."
    )


@strawberry.type(description="The analysis of a call is ready (or has failed).")
class AnalysisReady(CallEvent):
    analysis_id: strawberry.ID | None = strawberry.field(description="The analysis.")
    analysis_status: str = strawberry.field(
        description="done, or failed (the learner may ask for it again)."
    )
    scores: AnalysisScores | None = strawberry.field(
        description="The scores (null when failed)."
    )
    cefr_level: CefrLevel | None = strawberry.field(
        description="The CEFR level the call showed (null when failed)."
    )


@strawberry.type(description="The learner's prepaid balance changed.")
class BalanceChanged(Event):
    amount_minor: int = strawberry.field(description="The new balance, in minor units.")
    currency: str = strawberry.field(description="ISO 4217 currency of the balance.")
    delta_minor: int = strawberry.field(
        description="The change, in minor units: positive for a top-up, negative for a charge."
    )
    kind: LedgerEntryKind = strawberry.field(description="What changed it.")


@strawberry.type(description="A privacy request of the learner changed status.")
class PrivacyRequestUpdated(Event):
    request_id: strawberry.ID = strawberry.field(description="The privacy request.")
    request_kind: str = strawberry.field(
        description="access, portability, correction, deletion, objection or restriction."
    )
    request_status: str = strawberry.field(description="The request's new status.")


def _common(e: PublishedEvent) -> dict[str, Any]:
    return {"event_id": strawberry.ID(str(e.id)), "at": e.created_at}


def _call(e: PublishedEvent) -> dict[str, Any]:
    return {**_common(e), "call_id": strawberry.ID(encode("Call", e.call_id))}


def _status(e: PublishedEvent) -> Event:
    p = e.payload
    previous = p.get("previousStatus")
    return CallStatusChanged(**_call(e), status=CallStatus(p["status"]),
                             previous_status=CallStatus(previous) if previous else None,
                             ended_reason=p.get("endedReason"))


def _transcript(e: PublishedEvent) -> Event:
    p = e.payload
    return TranscriptLine(**_call(e), role=TranscriptRole(p["role"]), text=str(p["text"]),
                          final=bool(p.get("final", False)), seq=p.get("seq"))


def _ended(e: PublishedEvent) -> Event:
    p = e.payload
    return CallEnded(**_call(e), status=CallStatus(p["status"]),
                     ended_reason=p.get("endedReason"),
                     duration_seconds=int(p.get("durationS") or 0),
                     charge_minor=int(p.get("chargeMinor") or 0),
                     currency=str(p.get("currency", "")))


def _analysis(e: PublishedEvent) -> Event:
    p = e.payload
    analysis_id = p.get("analysisId")
    names = ("grammar", "vocabulary", "fluency", "pronunciation")
    scored = any(p.get(name) is not None for name in names)
    return AnalysisReady(
        **_call(e),
        analysis_id=strawberry.ID(encode("Analysis", analysis_id)) if analysis_id else None,
        analysis_status=str(p.get("status", "done")),
        scores=AnalysisScores(**{name: p.get(name) for name in names}) if scored else None,
        cefr_level=CefrLevel(p["cefrLevel"]) if p.get("cefrLevel") else None,
    )


def _balance(e: PublishedEvent) -> Event:
    p = e.payload
    return BalanceChanged(**_common(e), amount_minor=int(p.get("amountMinor", 0)),
                          currency=str(p.get("currency", "")),
                          delta_minor=int(p.get("deltaMinor", 0)),
                          kind=LedgerEntryKind(p["kind"]))


def _privacy(e: PublishedEvent) -> Event:
    p = e.payload
    return PrivacyRequestUpdated(**_common(e),
                                 request_id=strawberry.ID(encode("PrivacyRequest",
                                                                 p.get("requestId"))),
                                 request_kind=str(p["kind"]),
                                 request_status=str(p["status"]))


_BUILDERS: dict[str, Callable[[PublishedEvent], Event]] = {
    EventType.CALL_STATUS_CHANGED: _status,
    EventType.CALL_TRANSCRIPT: _transcript,
    EventType.CALL_ENDED: _ended,
    EventType.ANALYSIS_READY: _analysis,
    EventType.BALANCE_CHANGED: _balance,
    EventType.PRIVACY_REQUEST_UPDATED: _privacy,
}

#: Concrete types reached only through the interfaces: the schema must list them.
LIVE_TYPES: tuple[type, ...] = (
    CallStatusChanged, TranscriptLine, CallEnded, AnalysisReady, BalanceChanged,
    PrivacyRequestUpdated,
)


def event_from(event: PublishedEvent) -> Event | None:
    """The schema type of a logged event; None for a type this schema does not know (yet)."""
    build = _BUILDERS.get(event.type)
    if build is None or (event.type in EventType.CALL_FEED and event.call_id is None):
        return None
    try:
        return build(event)
    except (KeyError, ValueError, TypeError):  # a producer broke the payload contract
        logger.exception("malformed event skipped",
                         extra={"event_id": event.id, "event_type": event.type})
        return None
