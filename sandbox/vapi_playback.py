"""What a sandbox VAPI call "says", and how its server messages reach our webhook.

A call is decided up front: :func:`build_script` turns the scenario, the learner's first name and
the topic into a timeline of server messages (offsets in milliseconds from call creation), with a
realistic ~95 s coaching dialogue for answered calls. :class:`VapiSandbox` then plays the timeline
in a background task, updating the call object as VAPI would and POSTing each message to
``{public_base_url}/webhooks/vapi``, authenticated as the dialled ``server`` says. The shapes are
checked against VAPI's own ``vapi-server-sdk`` models (tests/test_calls_vapi_twin.py).
Timestamps follow the scripted (virtual) timeline, so reports stay realistic and self-consistent
even when ``speed`` is 0 and nothing actually sleeps; at ``speed`` 1 the virtual and wall clocks
coincide.

Every delivery and its outcome is recorded rather than raised: the point of the twin is to let
tests look at what our service answered, including its failures.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
import uuid
from collections.abc import Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

import httpx

from sandbox import SandboxContext
from sandbox.vapi_credentials import Credentials

log = logging.getLogger(__name__)

JSON = dict[str, Any]

#: How the call itself goes.
OUTCOMES: Final = (
    "answered",
    "carrier-completed",
    "assistant-ended",
    "no-answer",
    "busy",
    "voicemail",
    "provider-fault",
)
#: Outcomes in which the learner picked up and the lesson was played.
CONVERSATIONS: Final = ("answered", "carrier-completed", "assistant-ended")
#: Answered calls whose webhooks arrive awkwardly.
DELIVERY_MODES: Final = ("duplicates", "shuffled", "webhook-before-response")
SCENARIOS: Final = (*OUTCOMES, *DELIVERY_MODES)
#: Real VAPI ``endedReason`` values per outcome.
ENDED_REASONS: Final = {
    "answered": "customer-ended-call",
    # The carrier reports the hang-up (a default assistant on Twilio ends most calls so); its
    # report comes without durationSeconds, as VAPI's published model has none.
    "carrier-completed": "call.in-progress.twilio-completed-call",
    # The coach said goodbye and called its endCall tool.
    "assistant-ended": "assistant-ended-call",
    "no-answer": "customer-did-not-answer",
    "busy": "customer-busy",
    "voicemail": "voicemail",
    "provider-fault": "twilio-failed-to-connect-call",
}
MAX_DURATION_REASON: Final = "exceeded-max-duration"
#: VAPI's ``serverMessages`` when an assistant names none: no ``transcript`` among them.
DEFAULT_SERVER_MESSAGES: Final = (
    "conversation-update",
    "end-of-call-report",
    "function-call",
    "hang",
    "speech-update",
    "status-update",
    "tool-calls",
    "transfer-destination-request",
    "handoff-destination-request",
    "user-interrupted",
    "assistant.started",
)
FINAL_TRANSCRIPT: Final = 'transcript[transcriptType="final"]'
#: Demo convention: the last four digits of ``customer.number`` pick the outcome.
NUMBER_SUFFIX_SCENARIOS: Final = {
    "0001": "no-answer",
    "0002": "busy",
    "0003": "voicemail",
    "0004": "provider-fault",
}
WEBHOOK_PATH: Final = "/webhooks/vapi"
#: VAPI waits 20 s for a webhook answer by default.
DELIVERY_TIMEOUT_S: Final = 20.0
#: How long playback waits for the POST /call response to go out before it starts anyway.
RESPONSE_GATE_TIMEOUT_S: Final = 2.0


def iso(ms: int) -> str:
    """ISO 8601 with milliseconds and ``Z``, as VAPI writes every date-time."""
    stamp = datetime.fromtimestamp(ms / 1000, tz=UTC).isoformat(timespec="milliseconds")
    return stamp.replace("+00:00", "Z")


# --- scripts -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Step:
    """One server message in a call's timeline, and the call-state change that precedes it."""

    at_ms: int
    type: str
    fields: JSON
    call_patch: JSON = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Turn:
    """One utterance; times are offsets from call creation, in ms."""

    role: str
    text: str
    start_ms: int
    end_ms: int


#: The lesson an answered call plays: ``A:`` the coach, ``U:`` the learner, with the mistakes
#: (``goed``, ``buyed``, ``I am agree``, ``people needs``, ``last month I have been``) that our
#: analysis should find.
LESSON: Final = """
A: Hi {first_name}! This is your CallFluently coach. Today we are going to talk about {topic}.
   Are you ready to start?
U: Hi! Yes, I am ready. I am a little bit nervous but I really want to practise my English.
A: Don't worry, we will take it slowly. Let's warm up first. What did you do yesterday?
U: Yesterday I goed to the market with my sister and we buyed some fresh vegetables.
A: Lovely! A quick tip: we say 'I went to the market' and 'we bought some vegetables'.
   Can you say the whole sentence again?
U: Yesterday I went to the market with my sister and we bought some fresh vegetables.
A: Perfect, well done! Now let's talk about {topic}. What do you think about it?
U: I think this topic is very interesting. I am agree that people needs it in the everyday life.
A: Good opinion! Two small corrections: we say 'I agree', without 'am', and 'people need it in
   everyday life'. Tell me one more thing about {topic}.
U: Sure. Last month I have been to a course about it and I learned a lot of new words there.
A: That's great. With 'last month' we use the past simple, so 'last month I went to a course'.
   You did really well today, {first_name}.
U: Thank you very much! See you next time, bye!
"""
VOICEMAIL: Final = """
A: Hi {first_name}, this is your CallFluently coach calling for your practice session about
   {topic}. Sorry we missed you, we will try again soon. Bye!
"""


def dialogue(template: str, first_name: str, topic: str) -> list[tuple[str, str]]:
    """``(role, text)`` turns of a script; continuation lines are indented."""
    turns: list[tuple[str, str]] = []
    text = template.format(first_name=first_name, topic=topic)
    for line in text.strip().splitlines():
        if line[:2] in ("A:", "U:"):
            turns.append(("assistant" if line[0] == "A" else "user", line[2:].strip()))
        else:
            role, said = turns[-1]
            turns[-1] = (role, f"{said} {line.strip()}")
    return turns


def timeline(lines: list[tuple[str, str]], first_at_ms: int) -> list[Turn]:
    """Speaking times from word counts: the coach ~3 words/s, the learner slower, with pauses."""
    turns: list[Turn] = []
    t = first_at_ms
    for role, text in lines:
        ms_per_word = 330 if role == "assistant" else 400
        duration = len(text.split()) * ms_per_word + 300
        turns.append(Turn(role, text, t, t + duration))
        t += duration + (900 if role == "assistant" else 600)
    return turns


def costs_for(duration_ms: int) -> tuple[float, list[JSON]]:
    """Component costs in USD, roughly VAPI's public pricing, in its cost item shapes."""
    minutes = round(duration_ms / 60000, 4)
    seconds = duration_ms / 1000

    def usd(rate: float) -> float:
        return round(minutes * rate, 4)

    costs: list[JSON] = [
        {"type": "transport", "provider": "twilio", "minutes": minutes, "cost": usd(0.014)},
        {"type": "transcriber", "transcriber": {"provider": "deepgram", "model": "nova-3"},
         "minutes": minutes, "cost": usd(0.01)},
        {"type": "model", "model": {"provider": "openai", "model": "gpt-4o"},
         "promptTokens": round(seconds * 40), "completionTokens": round(seconds * 3),
         "cost": usd(0.02)},
        {"type": "voice", "voice": {"provider": "vapi", "voiceId": "Paige"},
         "characters": round(seconds * 7), "cost": usd(0.036)},
        {"type": "vapi", "subType": "normal", "minutes": minutes, "cost": usd(0.05)},
    ]
    return round(sum(c["cost"] for c in costs), 4), costs


def build_script(
    *,
    outcome: str,
    created_ms: int,
    first_name: str,
    topic: str,
    max_duration_s: int,
    recording_urls: dict[str, str],
    customer: JSON,
) -> list[Step]:
    """The whole timeline of server messages for one call, decided before it is played."""
    steps = [Step(150, "status-update", {"status": "queued"})]
    if outcome != "provider-fault":
        steps.append(Step(1500, "status-update", {"status": "ringing"}))
    if outcome in ("no-answer", "busy", "provider-fault"):
        ended_at = {"no-answer": 31500, "busy": 4000, "provider-fault": 1200}[outcome]
        return [
            *steps,
            *_ending(
                ended_at, ENDED_REASONS[outcome], created_ms, None, [], recording_urls, customer
            ),
        ]
    answered_at = 6000 if outcome == "voicemail" else 7000
    steps.append(
        Step(
            answered_at,
            "status-update",
            {"status": "in-progress"},
            {"startedAt": iso(created_ms + answered_at)},
        )
    )
    if outcome == "voicemail":
        turns = timeline(dialogue(VOICEMAIL, first_name, topic), answered_at + 4000)
        natural_end, reason = turns[-1].end_ms + 800, ENDED_REASONS["voicemail"]
    else:
        turns = timeline(dialogue(LESSON, first_name, topic), answered_at + 1200)
        natural_end, reason = turns[-1].end_ms + 1500, ENDED_REASONS[outcome]
    cutoff = answered_at + max_duration_s * 1000
    if cutoff < natural_end:
        natural_end, reason = cutoff, MAX_DURATION_REASON
        turns = [t for t in turns if t.end_ms + 500 < cutoff]
    for n, turn in enumerate(turns):
        steps += [
            Step(turn.start_ms, "speech-update",
                 {"status": "started", "role": turn.role, "turn": n}),
            Step(turn.end_ms, "speech-update",
                 {"status": "stopped", "role": turn.role, "turn": n}),
        ]
        if n == 3:  # the learner thinks before answering: VAPI reports the pause
            steps.append(Step(turn.start_ms - 200, "hang", {}))
        words = turn.text.split()
        partial = " ".join(words[: max(2, len(words) // 2)])
        partial_at = turn.start_ms + (turn.end_ms - turn.start_ms) * 45 // 100
        for at, kind, text in (
            (partial_at, "partial", partial),
            (turn.end_ms + 300, "final", turn.text),
        ):
            steps.append(
                Step(
                    at,
                    "transcript",
                    {"role": turn.role, "transcriptType": kind, "transcript": text},
                )
            )
    system = f"You are a friendly English coach for {first_name}. Topic: {topic}."
    started = (created_ms + answered_at, system)
    if turns:
        conversation = _messages(turns, created_ms, started)
        if reason == ENDED_REASONS["assistant-ended"]:
            conversation.append(_end_call_tool(created_ms + turns[-1].end_ms + 200, started))
        steps.append(
            Step(
                turns[-1].end_ms + 500,
                "conversation-update",
                {
                    "messages": conversation,
                    "messagesOpenAIFormatted": _openai(turns, system),
                    "conversation": _openai(turns, system),
                },
            )
        )
    ending = _ending(natural_end, reason, created_ms, started, turns, recording_urls, customer)
    if outcome == "carrier-completed":
        report = ending[-1].fields
        for key in ("durationMs", "durationSeconds", "durationMinutes"):
            report.pop(key)
    return [*sorted(steps, key=lambda s: s.at_ms), *ending]


def _end_call_tool(at_ms: int, started: tuple[int, str]) -> JSON:
    """The assistant's ``endCall`` tool call, as a conversation message lists it."""
    return {
        "role": "tool_calls",
        "message": "",
        "time": at_ms,
        "secondsFromStart": (at_ms - started[0]) / 1000,
        "toolCalls": [
            {
                "id": "call_" + uuid.uuid4().hex[:24],
                "type": "function",
                "function": {"name": "endCall", "arguments": "{}"},
            }
        ],
    }


def subscribed(steps: list[Step], server_messages: Any) -> list[Step]:
    """Only what the assistant's ``serverMessages`` ask for (VAPI's defaults when unset). Asked
    for ``transcript[transcriptType="final"]`` alone, final lines come under that type."""
    wanted = (
        set(server_messages)
        if isinstance(server_messages, list)
        else set(DEFAULT_SERVER_MESSAGES)
    )
    out: list[Step] = []
    for step in steps:
        if step.type == "transcript" and "transcript" not in wanted:
            if FINAL_TRANSCRIPT in wanted and step.fields.get("transcriptType") == "final":
                out.append(Step(step.at_ms, FINAL_TRANSCRIPT, step.fields, step.call_patch))
            continue
        if step.type in wanted:
            out.append(step)
    return out


def _messages(turns: list[Turn], created_ms: int, started: tuple[int, str]) -> list[JSON]:
    """``artifact.messages``: VAPI says ``bot`` for the assistant and opens with the prompt."""
    started_ms, system = started
    out: list[JSON] = [
        {"role": "system", "message": system, "time": started_ms, "secondsFromStart": 0}
    ]
    for turn in turns:
        at, end = created_ms + turn.start_ms, created_ms + turn.end_ms
        entry: JSON = {
            "role": "bot" if turn.role == "assistant" else "user",
            "message": turn.text,
            "time": at,
            "endTime": end,
            "secondsFromStart": (at - started_ms) / 1000,
            "duration": end - at,
        }
        if turn.role == "assistant":
            entry["source"] = ""
        out.append(entry)
    return out


def _openai(turns: list[Turn], system: str) -> list[JSON]:
    return [
        {"role": "system", "content": system},
        *({"role": t.role, "content": t.text} for t in turns),
    ]


def _ending(
    ended_at: int,
    reason: str,
    created_ms: int,
    started: tuple[int, str] | None,
    turns: list[Turn],
    recording_urls: dict[str, str],
    customer: JSON,
) -> list[Step]:
    """``status-update`` ended, then the ``end-of-call-report`` after post-processing."""
    ended_ms = created_ms + ended_at
    duration_ms = ended_ms - started[0] if started else 0
    cost, costs = costs_for(duration_ms)
    ended = {"status": "ended", "endedReason": reason, "endedAt": iso(ended_ms), "cost": cost}
    report: JSON = {
        "endedReason": reason,
        "cost": cost,
        "costs": costs,
        "customer": customer,
        "endedAt": iso(ended_ms),
        "durationMs": duration_ms,
        "durationSeconds": duration_ms / 1000,
        "durationMinutes": round(duration_ms / 60000, 4),
    }
    artifact: JSON = {"messages": [], "messagesOpenAIFormatted": []}
    if started:
        report["startedAt"] = iso(started[0])
        artifact = {
            "messages": _messages(turns, created_ms, started),
            "messagesOpenAIFormatted": _openai(turns, started[1]),
            "transcript": "".join(
                f"{'AI' if t.role == 'assistant' else 'User'}: {t.text}\n" for t in turns
            ),
            "recordingUrl": recording_urls["mono"],
            "stereoRecordingUrl": recording_urls["stereo"],
            "recording": {
                "stereoUrl": recording_urls["stereo"],
                "mono": {
                    "combinedUrl": recording_urls["mono"],
                    "assistantUrl": recording_urls["assistant"],
                    "customerUrl": recording_urls["customer"],
                },
            },
        }
    legacy: JSON = {
        k: artifact[k]
        for k in ("transcript", "recordingUrl", "stereoRecordingUrl")
        if k in artifact
    }
    report |= {
        **legacy,
        "messages": artifact["messages"],
        "artifact": artifact,
        "summary": "The learner practised past-tense verbs." if turns else "",
        "analysis": {"summary": "The learner practised past-tense verbs."} if turns else {},
    }
    after_call: JSON = {
        "artifact": artifact,
        "messages": artifact["messages"],
        "costs": costs,
        "analysis": report["analysis"],
        **legacy,
    }
    return [
        Step(ended_at, "status-update", {"status": "ended", "endedReason": reason}, ended),
        Step(ended_at + 2500, "end-of-call-report", report, after_call),
    ]


# --- state and playback ------------------------------------------------------------------------


@dataclass(slots=True)
class StoredMessage:
    """A server message as first sent; replays reuse ``body`` byte for byte."""

    message_id: str
    type: str
    body: str


@dataclass(slots=True)
class Delivery:
    """One POST to our webhook and what our service answered (or why it could not)."""

    message_id: str
    type: str
    body: str
    headers: dict[str, str]
    status: int | None
    error: str | None
    replay: bool
    delivered_at: str

    def summary(self) -> JSON:
        return {
            "messageId": self.message_id,
            "type": self.type,
            "status": self.status,
            "error": self.error,
            "replay": self.replay,
            "deliveredAt": self.delivered_at,
        }


@dataclass(slots=True)
class SandboxCall:
    """A call as the twin knows it: the public Call object plus what tests need to inspect."""

    id: str
    scenario: str
    data: JSON
    script: list[Step]
    created_ms: int
    messages: list[StoredMessage] = field(default_factory=list)
    deliveries: list[Delivery] = field(default_factory=list)
    deleted_at: str | None = None
    playback_error: str | None = None
    task: asyncio.Task[None] | None = None
    #: The Call object as created: what every server message embeds (VAPI does not send its
    #: live state, such as ``startedAt``, in ``message.call``).
    created: JSON = field(default_factory=dict)
    response_sent: asyncio.Event = field(default_factory=asyncio.Event)
    #: The assistant's ``server`` as dialled: where messages go and how they authenticate.
    server: JSON = field(default_factory=dict)

    @property
    def outcome(self) -> str:
        return self.scenario if self.scenario in OUTCOMES else "answered"

    def __post_init__(self) -> None:
        if not self.created:
            self.created = dict(self.data)

    def summary(self) -> JSON:
        return {
            "id": self.id,
            "scenario": self.scenario,
            "status": self.data["status"],
            "endedReason": self.data.get("endedReason"),
            "customer": self.data["customer"],
            "createdAt": self.data["createdAt"],
            "deleted": self.deleted_at is not None,
            "deletedAt": self.deleted_at,
            "recordingDeleted": self.deleted_at is not None,
            "playbackDone": self.task is None or self.task.done(),
            "playbackError": self.playback_error,
            "deliveries": [d.summary() for d in self.deliveries],
        }


class VapiSandbox:
    """All calls of one sandbox app, their playback tasks, and the scenario controls."""

    def __init__(self, ctx: SandboxContext) -> None:
        self.ctx = ctx
        self.calls: dict[str, SandboxCall] = {}
        #: Scenario for every next call (``None``: number convention, else answered).
        self.default_scenario: str | None = None
        #: Scenario per ``customer.number``; wins over the default.
        self.number_scenarios: dict[str, str] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self.credentials = Credentials(ctx.vapi_webhook_secret)

    def scenario_for(self, number: str) -> str:
        """Per-number control, then the global control, then the suffix convention."""
        if number in self.number_scenarios:
            return self.number_scenarios[number]
        if self.default_scenario:
            return self.default_scenario
        return NUMBER_SUFFIX_SCENARIOS.get(number[-4:], "answered")

    def add_call(self, call: SandboxCall) -> None:
        self.calls[call.id] = call

    async def start(self, call: SandboxCall) -> None:
        """Play a new call; ``webhook-before-response`` delivers its first message right here,
        inside the POST /call handler, so our service sees a VAPI id it has not stored yet."""
        first = 0
        if call.scenario == "webhook-before-response":
            first = 1
            try:
                async with self.ctx.http_client() as client:
                    await self._deliver(client, call, self._emit(call, call.script[0]))
            except Exception as exc:
                call.playback_error = f"{type(exc).__name__}: {exc}"
                log.exception("vapi sandbox: early delivery for %s failed", call.id)
        call.task = self._spawn(self._play(call, first), name=f"vapi-sandbox-call-{call.id}")

    async def delete(self, call: SandboxCall) -> None:
        """Forget the call and its recording; a playback still running is stopped."""
        call.deleted_at = iso(int(time.time() * 1000))
        if call.task and not call.task.done():
            call.task.cancel()
            await asyncio.wait({call.task})

    async def replay(self, call: SandboxCall, order: str, times: int) -> list[Delivery]:
        """Send the stored messages again: same bodies, fresh timestamps and signatures."""
        first_sent: dict[str, StoredMessage] = {}
        by_id = {m.message_id: m for m in call.messages}
        for d in call.deliveries:
            if not d.replay and d.message_id in by_id:
                first_sent.setdefault(d.message_id, by_id[d.message_id])
        base = list(first_sent.values()) or list(call.messages)
        out: list[Delivery] = []
        async with self.ctx.http_client() as client:
            for n in range(times):
                batch = list(reversed(base)) if order == "reverse" else list(base)
                if order == "shuffled":
                    random.Random(f"{call.id}:replay:{len(call.deliveries)}:{n}").shuffle(batch)
                for message in batch:
                    out.append(await self._deliver(client, call, message, replay=True))
        return out

    async def wait(self, call: SandboxCall | None, timeout: float) -> bool:
        """Whether the playback of ``call`` (or of every call) finished within ``timeout``."""
        tasks = set(self._tasks) if call is None else {call.task} if call.task else set()
        pending = {t for t in tasks if not t.done()}
        if not pending:
            return True
        _, still = await asyncio.wait(pending, timeout=timeout)
        return not still

    async def aclose(self) -> None:
        """Cancel every playback so a stopped app leaves no task behind."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _spawn(self, coro: Coroutine[Any, Any, None], name: str) -> asyncio.Task[None]:
        task = asyncio.create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _play(self, call: SandboxCall, first: int) -> None:
        """Walk the timeline, sleeping ``gap * speed``; a failure is recorded, never raised."""
        try:
            try:  # not wait_for: on 3.11 it can swallow a cancel that races the event
                async with asyncio.timeout(RESPONSE_GATE_TIMEOUT_S):
                    await call.response_sent.wait()
            except TimeoutError:
                log.warning("vapi sandbox: POST /call response for %s never went out", call.id)
            previous = call.script[first - 1].at_ms if first else 0
            held: list[StoredMessage] = []
            async with self.ctx.http_client() as client:
                for step in call.script[first:]:
                    delay = (step.at_ms - previous) / 1000 * self.ctx.speed
                    previous = step.at_ms
                    if delay > 0:
                        await asyncio.sleep(delay)
                    message = self._emit(call, step)
                    if call.scenario == "shuffled":
                        held.append(message)
                        continue
                    for _ in range(2 if call.scenario == "duplicates" else 1):
                        await self._deliver(client, call, message)
                random.Random(call.id).shuffle(held)
                for message in held:
                    await self._deliver(client, call, message)
        except Exception as exc:
            call.playback_error = f"{type(exc).__name__}: {exc}"
            log.exception("vapi sandbox: playback of %s failed", call.id)

    def _emit(self, call: SandboxCall, step: Step) -> StoredMessage:
        """Apply the step to the call object and freeze the server message it produces."""
        at_ms = call.created_ms + step.at_ms
        call.data.update(step.call_patch)
        call.data["updatedAt"] = iso(at_ms)
        if "status" in step.fields and step.type == "status-update":
            call.data["status"] = step.fields["status"]
        message: JSON = {"type": step.type, "timestamp": at_ms, **step.fields}
        message.setdefault("customer", call.data["customer"])
        message["call"] = call.created
        stored = StoredMessage(
            str(uuid.uuid4()), step.type, json.dumps({"message": message}, separators=(",", ":"))
        )
        call.messages.append(stored)
        return stored

    def _credentials(self, call: SandboxCall, message: StoredMessage) -> dict[str, str]:
        """What VAPI sends to authenticate: see :class:`sandbox.vapi_credentials.Credentials`."""
        url = str(call.server.get("url") or f"{self.ctx.public_base_url.rstrip('/')}{WEBHOOK_PATH}")
        return self.credentials.headers(call.server, message.body, url)

    async def _deliver(
        self,
        client: httpx.AsyncClient,
        call: SandboxCall,
        message: StoredMessage,
        *,
        replay: bool = False,
    ) -> Delivery:
        """POST one message, authenticated as the call's server says; the answer (or the
        exception) goes in the record."""
        headers = {"content-type": "application/json", **self._credentials(call, message)}
        status: int | None = None
        error: str | None = None
        try:
            response = await client.post(
                f"{self.ctx.public_base_url.rstrip('/')}{WEBHOOK_PATH}",
                content=message.body.encode(),
                headers=headers,
                timeout=DELIVERY_TIMEOUT_S,
            )
            status = response.status_code
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"
            log.warning(
                "vapi sandbox: delivering %s for %s failed: %s", message.type, call.id, error
            )
        delivery = Delivery(
            message.message_id,
            message.type,
            message.body,
            headers,
            status,
            error,
            replay,
            iso(int(time.time() * 1000)),
        )
        call.deliveries.append(delivery)
        return delivery
