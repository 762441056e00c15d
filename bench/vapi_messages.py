"""Signed VAPI server messages, shaped like the ones VAPI (and our sandbox twin) sends.

Each call gets what a live call produces: ``status-update`` ringing and in-progress, then the
live transcript, two partial lines and one final line per utterance, coach and learner taking
turns. The ``call`` object carries the fields VAPI puts in it, so bodies have a realistic size
(about 1.2 KB). Headers are those of VAPI's default HMAC credential plan: ``x-timestamp`` and the
hex SHA-256 ``x-signature`` over ``{timestamp}.{body}`` (VAPI sends no message id header).
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import orjson

from bench.seed_rows import SENTENCES, Learner

UTTERANCES = 6


def sign(secret: str, timestamp: str, body: bytes) -> str:
    return hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def signed(secret: str, message: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
    """The body and headers of one delivery of ``message``."""
    body = orjson.dumps({"message": message})
    stamp = str(int(time.time()))
    return body, {
        "content-type": "application/json",
        "x-timestamp": stamp,
        "x-signature": sign(secret, stamp, body),
    }


def call_object(learner: Learner, status: str) -> dict[str, Any]:
    now = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return {
        "id": learner.live_provider_id,
        "orgId": "6a1c1b6e-8f7e-4a4c-9d1e-0c2b3a4d5e6f",
        "type": "outboundPhoneCall",
        "status": status,
        "createdAt": now,
        "updatedAt": now,
        "phoneNumberId": "sandbox-phone-number",
        "assistantId": None,
        "phoneCallProvider": "twilio",
        "phoneCallProviderId": "CA" + uuid.uuid4().hex,
        "phoneCallTransport": "pstn",
        "customer": {"number": "+447911123456", "externalId": str(learner.live_call_id)},
        "monitor": {
            "listenUrl": f"wss://phone-call-websocket.invalid/{learner.live_provider_id}/listen",
            "controlUrl": f"https://phone-call-control.invalid/{learner.live_provider_id}/control",
        },
        "transport": {"provider": "twilio", "assistantVideoEnabled": False},
    }


def status_update(learner: Learner, status: str) -> dict[str, Any]:
    call = call_object(learner, status)
    return {"type": "status-update", "status": status, "timestamp": int(time.time() * 1000),
            "customer": call["customer"], "call": call}


def transcript(learner: Learner, *, role: str, text: str, final: bool) -> dict[str, Any]:
    call = call_object(learner, "in-progress")
    return {"type": "transcript", "role": role, "transcriptType": "final" if final else "partial",
            "transcript": text, "timestamp": int(time.time() * 1000),
            "customer": call["customer"], "call": call}


def live_call(learner: Learner, counter: Iterator[int], *,
              first: bool = True) -> Iterator[dict[str, Any]]:
    """Everything VAPI sends about one call while it rings and runs (20 messages); later rounds
    (``first`` false) only more transcript lines: VAPI reports each status once."""
    if first:
        yield status_update(learner, "ringing")
        yield status_update(learner, "in-progress")
    for turn in range(UTTERANCES):
        role = "assistant" if turn % 2 == 0 else "user"
        words = f"{SENTENCES[turn % len(SENTENCES)]} ({next(counter)})".split()
        yield transcript(learner, role=role, text=" ".join(words[: len(words) // 3]), final=False)
        yield transcript(learner, role=role, text=" ".join(words[: 2 * len(words) // 3]),
                         final=False)
        yield transcript(learner, role=role, text=" ".join(words), final=True)


def stream(learners: list[Learner]) -> Iterator[dict[str, Any]]:
    """One sender's messages: its calls one after another, round and round (later rounds are
    transcript lines of calls already in progress, still applied: each line is new). The
    service dedupes on the signed body, so a status is never sent twice."""
    counter = itertools.count()
    for n, learner in enumerate(itertools.cycle(learners)):
        yield from live_call(learner, counter, first=n < len(learners))
