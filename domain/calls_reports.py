"""What VAPI tells us about a call, read from its server messages and its call object.

VAPI's payloads grow new fields and move old ones: the end-of-call report moved its transcript,
messages and recording under ``artifact``. We read ``artifact.*`` first and the legacy
top-level fields second, ignore whatever we do not know, and never raise on a surprising shape:
a field of the wrong type counts as absent.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from domain.calls import CallStatus

JSON = dict[str, Any]
MAX_TURN_CHARS = 10_000

#: VAPI's status words; ``forwarding`` is still a call in progress.
VAPI_STATUSES = {
    "queued": CallStatus.QUEUED,
    "ringing": CallStatus.RINGING,
    "in-progress": CallStatus.IN_PROGRESS,
    "forwarding": CallStatus.IN_PROGRESS,
    "ended": CallStatus.ENDED,
}
#: VAPI's roles: the assistant is ``assistant`` or ``bot``; system and tool lines are not turns.
ROLES = {"assistant": "coach", "bot": "coach", "user": "learner"}


@dataclass(frozen=True, slots=True)
class CallRef:
    """How a message names its call: VAPI's id, and our id echoed as ``customer.externalId``."""

    provider_call_id: str | None
    external_id: UUID | None


@dataclass(frozen=True, slots=True)
class Turn:
    role: str
    text: str
    start_s: float | None = None
    end_s: float | None = None


@dataclass(frozen=True, slots=True)
class StatusUpdate:
    ref: CallRef
    status: CallStatus
    ended_reason: str | None
    started_at: datetime | None
    ended_at: datetime | None


@dataclass(frozen=True, slots=True)
class TranscriptLine:
    ref: CallRef
    role: str
    text: str
    final: bool


@dataclass(frozen=True, slots=True)
class ConversationUpdate:
    ref: CallRef
    turns: tuple[Turn, ...]


@dataclass(frozen=True, slots=True)
class EndOfCallReport:
    ref: CallRef
    ended_reason: str | None
    started_at: datetime | None
    ended_at: datetime | None
    duration_s: float | None
    #: None when the report carries no message list at all (keep what we stored live).
    turns: tuple[Turn, ...] | None
    recording_url: str | None


Message = StatusUpdate | TranscriptLine | ConversationUpdate | EndOfCallReport


def _obj(value: Any) -> JSON:
    return value if isinstance(value, dict) else {}


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _num(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)


def _time(value: Any) -> datetime | None:
    if isinstance(value, str) and value:
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    number = _num(value)
    if number is not None and 0 < number < 1e14:  # epoch milliseconds
        return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=number)
    return None


def _uuid(value: Any) -> UUID | None:
    try:
        return UUID(value) if isinstance(value, str) else None
    except ValueError:
        return None


def call_ref(message: JSON) -> CallRef:
    call = _obj(message.get("call"))
    customer = _obj(call.get("customer")) or _obj(message.get("customer"))
    return CallRef(_str(call.get("id")), _uuid(customer.get("externalId")))


def turns_from(messages: Any) -> tuple[Turn, ...]:
    """Coach and learner turns of a VAPI message list, with times from the call's start."""
    turns: list[Turn] = []
    for item in messages if isinstance(messages, list) else []:
        entry = _obj(item)
        role = ROLES.get(str(entry.get("role")))
        text = _str(entry.get("message")) or _str(entry.get("content"))
        if role is None or text is None or not text.strip():
            continue
        start = _num(entry.get("secondsFromStart"))
        length = _num(entry.get("duration"))
        end = start + length / 1000 if start is not None and length is not None else None
        turns.append(
            Turn(
                role=role,
                text=text.strip()[:MAX_TURN_CHARS],
                start_s=round(start, 3) if start is not None else None,
                end_s=round(end, 3) if end is not None else None,
            )
        )
    return tuple(turns)


def _recording(artifact: JSON, legacy: JSON) -> str | None:
    recording = _obj(artifact.get("recording"))
    return (
        _str(artifact.get("recordingUrl"))
        or _str(_obj(recording.get("mono")).get("combinedUrl"))
        or _str(recording.get("url"))
        or _str(legacy.get("recordingUrl"))
    )


def report_from(source: JSON, ref: CallRef, call: JSON) -> EndOfCallReport:
    """An end-of-call report from a report message, or from an ended call object."""
    artifact = _obj(source.get("artifact"))
    started = _time(source.get("startedAt")) or _time(call.get("startedAt"))
    ended = _time(source.get("endedAt")) or _time(call.get("endedAt"))
    duration = _num(source.get("durationSeconds"))
    if duration is None and (ms := _num(source.get("durationMs"))) is not None:
        duration = ms / 1000
    if duration is None and started and ended:
        duration = (ended - started).total_seconds()
    if "messages" in artifact:
        turns: tuple[Turn, ...] | None = turns_from(artifact.get("messages"))
    elif "messages" in source:
        turns = turns_from(source.get("messages"))
    else:
        turns = None
    return EndOfCallReport(
        ref=ref,
        ended_reason=_str(source.get("endedReason")) or _str(call.get("endedReason")),
        started_at=started,
        ended_at=ended,
        duration_s=max(duration, 0.0) if duration is not None else None,
        turns=turns,
        recording_url=_recording(artifact, source),
    )


def parse_message(message: JSON) -> Message | None:
    """The message's meaning for us, or None for types (and shapes) we do not act on."""
    kind = _str(message.get("type")) or ""
    ref = call_ref(message)
    call = _obj(message.get("call"))
    if kind == "status-update":
        status = VAPI_STATUSES.get(str(message.get("status")))
        if status is None:
            return None
        return StatusUpdate(
            ref=ref,
            status=status,
            ended_reason=_str(message.get("endedReason")) or _str(call.get("endedReason")),
            # ``message.call`` is the call as created: the message's own time says when it
            # was answered or ended.
            started_at=_time(call.get("startedAt")) or (
                _time(message.get("timestamp")) if status is CallStatus.IN_PROGRESS else None
            ),
            ended_at=_time(message.get("endedAt")) or _time(call.get("endedAt")) or (
                _time(message.get("timestamp")) if status is CallStatus.ENDED else None
            ),
        )
    if kind.startswith("transcript"):
        role = ROLES.get(str(message.get("role")))
        text = _str(message.get("transcript"))
        if role is None or text is None or not text.strip():
            return None
        final = message.get("transcriptType") == "final" or 'transcriptType="final"' in kind
        return TranscriptLine(ref, role, text.strip()[:MAX_TURN_CHARS], final)
    if kind == "conversation-update":
        return ConversationUpdate(ref, turns_from(message.get("messages")))
    if kind == "end-of-call-report":
        return report_from(message, ref, call)
    return None


def from_call_object(call: JSON) -> StatusUpdate | EndOfCallReport | None:
    """What ``GET /call/{id}`` says: a full report once ended, else the current status."""
    ref = CallRef(_str(call.get("id")), _uuid(_obj(call.get("customer")).get("externalId")))
    status = VAPI_STATUSES.get(str(call.get("status")))
    if status is CallStatus.ENDED:
        return report_from(call, ref, call)
    if status is None:
        return None
    return StatusUpdate(ref, status, None, _time(call.get("startedAt")), None)
