"""The ``dial`` job: hand a requested call to VAPI, exactly once.

Creating a VAPI call is not idempotent, so the job first moves the call to ``queued`` and
commits, and only then posts. A job that runs again (a lapsed lease, a crash after the post)
finds the call already queued and does nothing: it never posts twice. If the post's outcome is
unknown (a timeout after sending), the call stays queued; its webhooks still find it through
``customer.externalId``, and the reconciler settles it if none ever come.
"""

from __future__ import annotations

import logging
from typing import Any
from uuid import UUID

from db.locks import lock_call
from db.models.accounts import User
from db.models.calls import Call
from db.models.plans import Preferences
from db.models.topics import Topic
from domain.calls import (
    CallStatus,
    Dialer,
    DialRejected,
    DialRequest,
    DialUncertain,
    ProviderUnavailable,
    move_status,
)
from domain.calls_reports import VAPI_STATUSES
from domain.jobs import JobHandler, JobRun
from domain.uow import Effects, UnitOfWork

logger = logging.getLogger("callfluently.calls")

GENERAL_TOPIC = "everyday life"
GENERAL_INSTRUCTIONS = (
    "Have a relaxed conversation about the learner's everyday life: their day, plans, work or "
    "studies and hobbies. Ask open questions and let the learner do most of the talking."
)


def coach_prompt(*, topic: str, topic_instructions: str, level: str, prefs: Preferences) -> str:
    """The coach's standing instructions for one call."""
    return (
        "You are CallFluently's English conversation coach, on a phone call with a learner. "
        f"Topic: {topic}. {topic_instructions}\n"
        f"The learner's level is about CEFR {level}; they aim for {prefs.target_level}. "
        "Speak naturally at a level just above theirs. "
        f"Correction style: {prefs.correction_style.lower()}. Correct the most important "
        "mistakes briefly and ask the learner to say the sentence again. "
        f"When an explanation helps, give it in the language with code "
        f"'{prefs.explanation_language}'. Keep your turns short: the learner should speak most."
    )


async def dial_request(uow: UnitOfWork, call: Call, user: User) -> DialRequest:
    """What we tell VAPI: phone, first name, topic, level and preferences, and the time cap."""
    topic = (
        await Topic.get_or_none(id=call.topic_id, using_db=uow.conn) if call.topic_id else None
    )
    prefs = await Preferences.get_or_none(user_id=user.id, using_db=uow.conn)
    prefs = prefs or Preferences(user_id=user.id)  # unsaved: the model's defaults
    names = (user.full_name or "").split()
    first_name = names[0] if names else "there"
    level = user.cefr_level or prefs.target_level
    title = topic.title if topic else GENERAL_TOPIC
    instructions = topic.instructions if topic else GENERAL_INSTRUCTIONS
    return DialRequest(
        call_id=call.id,
        phone=user.phone or "",
        first_name=first_name,
        instructions=coach_prompt(
            topic=title, topic_instructions=instructions, level=level, prefs=prefs
        ),
        coach_voice=prefs.coach_voice,
        max_duration_s=call.max_duration_s,
        variables={
            "firstName": first_name,
            "topicTitle": title,
            "topicInstructions": instructions,
            "level": level,
            "targetLevel": prefs.target_level,
            "coachVoice": prefs.coach_voice,
            "correctionStyle": prefs.correction_style,
            "explanationLanguage": prefs.explanation_language,
        },
    )


async def _fail(effects: Effects, call_id: UUID, reason: str) -> None:
    async with UnitOfWork(effects) as uow:
        call = await lock_call(uow.conn, call_id)
        if call is not None:
            await move_status(uow, call, CallStatus.FAILED, failure_reason=reason)


async def dial(*, effects: Effects, dialer: Dialer, call_id: UUID) -> None:
    """Post the call to VAPI once and record what it answered."""
    async with UnitOfWork(effects) as uow:
        call = await lock_call(uow.conn, call_id)
        if call is None or call.status != CallStatus.REQUESTED.value:
            return
        user = await User.get(id=call.user_id, using_db=uow.conn)
        if user.status != "active" or user.processing_restricted or not user.phone:
            await move_status(uow, call, CallStatus.FAILED,
                              failure_reason="The account can no longer be called.")
            return
        request = await dial_request(uow, call, user)
        await move_status(uow, call, CallStatus.QUEUED)
    try:
        placed = await dialer.create_call(request)
    except DialRejected as exc:
        await _fail(effects, call_id, f"VAPI refused the call: {exc}")
        return
    except ProviderUnavailable:
        await _fail(effects, call_id, "VAPI could not be reached.")
        return
    except DialUncertain:
        logger.warning("vapi call creation outcome unknown", extra={"call_id": str(call_id)})
        return
    async with UnitOfWork(effects) as uow:
        call = await lock_call(uow.conn, call_id)
        if call is None:
            return
        if call.provider_call_id is None:
            call.provider_call_id = placed.id
            await Call.filter(id=call_id).using_db(uow.conn).update(provider_call_id=placed.id)
        status = VAPI_STATUSES.get(placed.status)
        if status is not None:
            await move_status(uow, call, status)
    logger.info("vapi call placed", extra={"call_id": str(call_id), "provider_call_id": placed.id})


def dial_handler(*, effects: Effects, dialer: Dialer) -> JobHandler:
    """The ``dial`` job handler, closed over its ports (see ``main.build_handlers``)."""

    async def handle(payload: dict[str, Any], run: JobRun) -> None:
        try:
            call_id = UUID(str(payload.get("call_id")))
        except ValueError:
            logger.error("dial job without a valid call id", extra={"job_id": run.job_id})
            return
        await dial(effects=effects, dialer=dialer, call_id=call_id)

    return handle
