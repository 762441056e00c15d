"""Local twin of the Anthropic Messages API, for development and tests without a Claude key.

The service points the real ``anthropic.AsyncAnthropic(base_url=".../sandbox/anthropic")`` at
this app, so it speaks the real wire format: ``POST /v1/messages`` (JSON or SSE when
``stream`` is true) and ``POST /v1/messages/count_tokens``; a key in ``x-api-key`` or
``Authorization: Bearer`` (what anthropic 2.x sends) and a dated ``anthropic-version`` header
(2.14 sends ``2026-10-21``) are required; errors use Anthropic's envelope
``{"type": "error", "error": {"type", "message"}, "request_id"}`` and a ``request-id`` header.
Requests are validated the way the API does it (400 ``invalid_request_error``, 404 for a model
that is not ``claude-*``), so a malformed call fails here before it fails in production.

The reply is the deterministic CEFR analysis of ``sandbox.anthropic_scoring`` (see there for
the transcript format and the formula), as JSON text. Structured output
(``output_config={"format": {"type": "json_schema", "schema": ...}}``, which the installed SDK
also builds from ``messages.parse(output_format=Model)``) is accepted; the schema is checked
against the API's limits (every object needs ``additionalProperties: false``; numeric/length
constraints are refused) and the answer keeps only keys the schema declares. A final assistant
message is a prefill: the answer continues it. ``stop_sequences`` and ``max_tokens`` truncate
like the API does (``stop_reason`` ``stop_sequence`` / ``max_tokens``).

Token counts are estimates: ``ceil(len(text) / 4)`` per content block (the JSON of non-text
blocks), at least 1, plus 3 for framing. Prompt caching follows the API: blocks are ordered
tools, system, messages; a ``cache_control`` block (or the top-level ``cache_control``, which
marks the last block) is a breakpoint; the longest prefix already cached for the model is
reported as ``cache_read_input_tokens``, the rest up to the last breakpoint as
``cache_creation_input_tokens`` (then cached for its ttl, 5m or 1h), the remainder as
``input_tokens``. ``create_app(min_cacheable_tokens=1024)`` mimics the real minimum; the
default 0 caches any prefix so that small test prompts show the counters.

Control API (JSON, no auth) for tests:

- ``POST /_control/faults`` ``{"queue": [fault, ...]}`` appends faults; each ``/v1/messages``
  request pops the head, before authentication and validation (a fault with
  ``"repeat": true`` stays until cleared). Fault keys:
  ``status`` (error with the type Anthropic uses for it, or ``type``/``message``/``error_code``
  to override; ``retry_after`` sets ``retry-after``; a 429 whose message mentions a spend
  limit gets ``error_code`` ``enforced_spend_limit_reached``), ``headers`` (extra),
  ``delay_s`` (sleep, then go on; not scaled by ``ctx.speed``: it exists to provoke timeouts,
  but an in-process ``httpx2.ASGITransport`` enforces no client timeout, so wrap the call in
  ``asyncio.wait_for`` or serve the app over a real socket),
  ``malformed`` (``true``/``"truncated"``, ``"out_of_range"``, ``"prose"``, ``"missing_keys"``:
  a 200 whose text is not a valid analysis). ``GET`` lists the queue, ``DELETE`` clears it.
- ``GET /_control/requests``: every request received (headers minus credentials, parsed body,
  the fault applied, answered status and body); ``DELETE`` clears.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
import re
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from sandbox import SandboxContext
from sandbox.anthropic_scoring import analyse

#: The API refuses unknown versions; the sandbox takes any dated one from 2023-01-01 on, so an
#: SDK upgrade (2.14 sends 2026-10-21) does not break it, while junk is still refused.
VERSION_RE: Final = re.compile(r"\d{4}-\d{2}-\d{2}")
ERROR_TYPES: Final = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    504: "timeout_error",
    529: "overloaded_error",
}
DEFAULT_MESSAGES: Final = {
    429: "This request would exceed the rate limit for your organization. Please retry later.",
    500: "Internal server error",
    529: "Overloaded",
}
FAULT_KEYS: Final = frozenset(
    {"status", "type", "message", "error_code", "retry_after", "headers", "delay_s"}
    | {"malformed", "repeat"}
)
MALFORMED: Final = frozenset({"truncated", "out_of_range", "prose", "missing_keys"})
TTL_S: Final = {"5m": 300.0, "1h": 3600.0}
HIDDEN_HEADERS: Final = frozenset({"x-api-key", "authorization"})


def _new_id(prefix: str) -> str:
    """An id shaped like Anthropic's (``msg_01...``, ``req_01...``)."""
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
    n, out = uuid.uuid4().int, ""
    while len(out) < 22:
        n, rem = divmod(n, 62)
        out += alphabet[rem]
    return f"{prefix}_01{out}"


def _tokens(text: str) -> int:
    """The sandbox's token estimate: about four characters per token."""
    return max(1, math.ceil(len(text) / 4))


@dataclass(slots=True)
class _State:
    """Everything one app instance remembers; tests get a fresh one per ``create_app``."""

    faults: list[dict[str, Any]] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    #: (model, prefix hash) -> monotonic expiry of that cache entry.
    cache: dict[tuple[str, str], float] = field(default_factory=dict)


def _error(status: int, message: str, request_id: str, **extra: Any) -> JSONResponse:
    """An Anthropic error envelope; ``extra`` may carry ``type``, ``error_code``, ``headers``."""
    error: dict[str, Any] = {"type": extra.get("type") or ERROR_TYPES.get(status, "api_error")}
    error["message"] = message
    if extra.get("error_code"):
        error["details"] = {"error_code": extra["error_code"]}
    headers = {"request-id": request_id, **(extra.get("headers") or {})}
    body = {"type": "error", "error": error, "request_id": request_id}
    return JSONResponse(body, status_code=status, headers=headers)


def _fault_response(fault: dict[str, Any], request_id: str) -> JSONResponse:
    """The error a queued ``status`` fault stands for, in the shape the API would send it."""
    status = int(fault["status"])
    message = fault.get("message") or DEFAULT_MESSAGES.get(status, "Error")
    code = fault.get("error_code")
    if code is None and status == 429 and "spend limit" in message.lower():
        code = "enforced_spend_limit_reached"
    headers = {str(k): str(v) for k, v in (fault.get("headers") or {}).items()}
    if fault.get("retry_after") is not None:
        headers["retry-after"] = str(fault["retry_after"])
    return _error(
        status, message, request_id, type=fault.get("type"), error_code=code, headers=headers
    )


def _check_fault(fault: Any) -> str | None:
    """Why a control-API fault is unusable, or None; bad faults would confuse tests later."""
    if not isinstance(fault, dict):
        return "each fault must be an object"
    if unknown := set(fault) - FAULT_KEYS:
        return f"unknown fault keys: {sorted(unknown)}"
    if not {"status", "malformed", "delay_s"} & set(fault):
        return "a fault needs status, malformed or delay_s"
    status = fault.get("status")
    if status is not None and (not isinstance(status, int) or not 400 <= status <= 599):
        return "status must be an int in 400..599"
    malformed = fault.get("malformed")
    if malformed is not None and malformed is not True and malformed not in MALFORMED:
        return f"malformed must be true or one of {sorted(MALFORMED)}"
    delay = fault.get("delay_s")
    if delay is not None and (not isinstance(delay, int | float) or delay < 0):
        return "delay_s must be a non-negative number"
    return None


def _segments(body: dict[str, Any]) -> list[tuple[str, int, dict[str, Any] | None]]:
    """The prompt as cacheable blocks, in cache order: (identity, tokens, cache_control)."""
    out: list[tuple[str, int, dict[str, Any] | None]] = []

    def add(kind: str, block: dict[str, Any]) -> None:
        bare = {k: v for k, v in block.items() if k != "cache_control"}
        ident = json.dumps([kind, bare], sort_keys=True)
        text = bare["text"] if isinstance(bare.get("text"), str) else ident
        out.append((ident, _tokens(text), block.get("cache_control")))

    for tool in body.get("tools") or []:
        add("tool", tool)
    system = body.get("system")
    if isinstance(system, str) and system:
        add("system", {"type": "text", "text": system})
    elif isinstance(system, list):
        for block in system:
            add("system", block)
    for message in body["messages"]:
        content = message["content"]
        blocks = [{"type": "text", "text": content}] if isinstance(content, str) else content
        for block in blocks:
            add(message["role"], block)
    top = body.get("cache_control")
    if top and out:
        out[-1] = (out[-1][0], out[-1][1], top)
    return out


def _usage(state: _State, body: dict[str, Any], min_cacheable: int) -> dict[str, Any]:
    """Input and cache token counts, updating the prompt cache like the API would."""
    segments = _segments(body)
    now, model = time.monotonic(), str(body["model"])
    hashes, cumulative, digest, total = [], [], hashlib.sha256(model.encode()), 0
    for ident, tokens, _ in segments:
        digest.update(ident.encode())
        hashes.append(digest.hexdigest())
        total += tokens
        cumulative.append(total)
    breakpoints = [i for i, s in enumerate(segments) if s[2] and cumulative[i] >= min_cacheable]
    if not breakpoints:
        read = created = 0
        by_ttl = {"5m": 0, "1h": 0}
    else:
        last = breakpoints[-1]
        hit = next(
            (i for i in range(last, -1, -1) if state.cache.get((model, hashes[i]), 0) > now), -1
        )
        read = cumulative[hit] if hit >= 0 else 0
        created, by_ttl, done = 0, {"5m": 0, "1h": 0}, read
        for i in breakpoints:
            ttl = str((segments[i][2] or {}).get("ttl", "5m"))
            if i > hit:
                by_ttl[ttl] += cumulative[i] - done
                created += cumulative[i] - done
                done = cumulative[i]
            state.cache[(model, hashes[i])] = now + TTL_S.get(ttl, 300.0)
        total -= read + created
    return {
        "input_tokens": total + 3,
        "cache_creation_input_tokens": created,
        "cache_read_input_tokens": read,
        "cache_creation": {
            "ephemeral_5m_input_tokens": by_ttl["5m"],
            "ephemeral_1h_input_tokens": by_ttl["1h"],
        },
        "service_tier": "standard",
    }


def _text_of(content: Any) -> str:
    """The text of a message's content (a string or the text blocks of a list)."""
    if isinstance(content, str):
        return content
    return "\n".join(b["text"] for b in content if b.get("type") == "text")


def _answer(body: dict[str, Any], malformed: Any) -> tuple[str, str, str | None]:
    """The reply text, stop_reason and stop_sequence for a validated request."""
    messages = body["messages"]
    user = next((m for m in reversed(messages) if m["role"] == "user"), None)
    analysis = analyse(_text_of(user["content"]) if user else "")
    schema = ((body.get("output_config") or {}).get("format") or {}).get("schema") or {}
    if isinstance(schema.get("properties"), dict):
        analysis = {k: v for k, v in analysis.items() if k in schema["properties"]}
    if malformed == "out_of_range":
        analysis.update(grammar=150, vocabulary=-5, cefrLevel="D1")
    elif malformed == "missing_keys":
        analysis.pop("cefrLevel", None)
        analysis.pop("corrections", None)
    text = json.dumps(analysis, ensure_ascii=False)
    if malformed in (True, "truncated"):
        text = text[: len(text) // 2]
    elif malformed == "prose":
        text = f"Here is the analysis you asked for:\n{text}\nLet me know if you need more."
    if messages[-1]["role"] == "assistant":
        prefill = _text_of(messages[-1]["content"])
        text = text.removeprefix(prefill) if text.startswith(prefill) else text
    stop_reason, stop_sequence = "end_turn", None
    cuts = [(text.find(s), s) for s in body.get("stop_sequences") or [] if s and s in text]
    if cuts:
        at, stop_sequence = min(cuts)
        text, stop_reason = text[:at], "stop_sequence"
    if _tokens(text) > body["max_tokens"]:
        text, stop_reason, stop_sequence = text[: body["max_tokens"] * 4], "max_tokens", None
    return text, stop_reason, stop_sequence


class ApiError(Exception):
    """A request the API would refuse: status and the message it would give."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message, self.status = message, status


#: Top-level fields the API (and the installed SDK) knows; anything else is refused.
KNOWN_FIELDS: Final = frozenset(
    {"model", "max_tokens", "messages", "system", "stream", "stop_sequences", "temperature"}
    | {"top_p", "top_k", "metadata", "tools", "tool_choice", "thinking", "output_config"}
    | {"cache_control", "container", "service_tier", "speed", "inference_geo", "diagnostics"}
    | {"context_management", "mcp_servers"}
)
#: Schema keywords structured outputs refuse (the SDK's transform_schema moves them away).
UNSUPPORTED_SCHEMA: Final = frozenset(
    {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"}
    | {"minLength", "maxLength", "maxItems", "minProperties", "maxProperties", "uniqueItems"}
)


def _check_cache_control(value: Any, where: str) -> None:
    """``cache_control`` must be ``{"type": "ephemeral", "ttl"?: "5m" | "1h"}``."""
    if not isinstance(value, dict) or value.get("type") != "ephemeral":
        raise ApiError(f"{where}.cache_control.type: Input should be 'ephemeral'")
    if set(value) - {"type", "ttl"}:
        raise ApiError(f"{where}.cache_control: Extra inputs are not permitted")
    if "ttl" in value and value["ttl"] not in TTL_S:
        raise ApiError(f"{where}.cache_control.ttl: Input should be '5m' or '1h'")


def _check_text_block(block: Any, where: str) -> None:
    """A system or message text block: non-empty text, optional valid cache_control."""
    if not isinstance(block, dict) or not isinstance(block.get("type"), str):
        raise ApiError(f"{where}: Input should be an object with a 'type'")
    if block["type"] == "text":
        if not isinstance(block.get("text"), str):
            raise ApiError(f"{where}.text: Field required")
        if not block["text"]:
            raise ApiError(f"{where}: text content blocks must be non-empty")
    if "cache_control" in block:
        _check_cache_control(block["cache_control"], where)


def _check_schema(schema: Any, where: str) -> None:
    """The limits structured outputs put on a JSON schema, applied recursively."""
    if not isinstance(schema, dict):
        raise ApiError(f"{where}: Input should be a valid dictionary")
    for key in sorted(UNSUPPORTED_SCHEMA & set(schema)):
        raise ApiError(f"{where}: property '{key}' is not supported")
    if schema.get("minItems") not in (None, 0, 1):
        raise ApiError(f"{where}: minItems values other than 0 or 1 are not supported")
    types = schema.get("type")
    is_object = "object" in (types if isinstance(types, list) else [types])
    if is_object and schema.get("additionalProperties") is not False:
        raise ApiError(
            f"{where}: For 'object' type, 'additionalProperties' must be explicitly set to false"
        )
    for name, sub in (schema.get("properties") or {}).items():
        _check_schema(sub, f"{where}.properties.{name}")
    for name, sub in (schema.get("$defs") or {}).items():
        _check_schema(sub, f"{where}.$defs.{name}")
    if "items" in schema:
        _check_schema(schema["items"], f"{where}.items")
    for key in ("anyOf", "allOf"):
        for i, sub in enumerate(schema.get(key) or []):
            _check_schema(sub, f"{where}.{key}.{i}")


def validate_messages_request(body: dict[str, Any]) -> None:
    """Refuse what the API refuses, with messages in its ``field: problem`` style."""
    if unknown := sorted(set(body) - KNOWN_FIELDS):
        raise ApiError(f"{unknown[0]}: Extra inputs are not permitted")
    model = body.get("model")
    if model is None:
        raise ApiError("model: Field required")
    if not isinstance(model, str) or not model:
        raise ApiError("model: Input should be a valid non-empty string")
    if not model.startswith("claude-"):
        raise ApiError(f"model: {model}", status=404)
    max_tokens = body.get("max_tokens")
    if max_tokens is None:
        raise ApiError("max_tokens: Field required")
    if isinstance(max_tokens, bool) or not isinstance(max_tokens, int):
        raise ApiError("max_tokens: Input should be a valid integer")
    if max_tokens < 1:
        raise ApiError("max_tokens: Input should be greater than or equal to 1")
    if max_tokens > 128_000:
        raise ApiError(f"max_tokens: {max_tokens} > 128000, the maximum allowed for {model}")
    messages = body.get("messages")
    if messages is None:
        raise ApiError("messages: Field required")
    if not isinstance(messages, list):
        raise ApiError("messages: Input should be a valid list")
    if not messages:
        raise ApiError("messages: at least one message is required")
    for i, message in enumerate(messages):
        where = f"messages.{i}"
        if not isinstance(message, dict):
            raise ApiError(f"{where}: Input should be a valid dictionary")
        if message.get("role") not in ("user", "assistant"):
            raise ApiError(f"{where}.role: Input should be 'user' or 'assistant'")
        content = message.get("content")
        final_assistant = i == len(messages) - 1 and message["role"] == "assistant"
        if isinstance(content, str):
            if not content and not final_assistant:
                raise ApiError(
                    f"{where}: all messages must have non-empty content except for the optional"
                    " final assistant message"
                )
        elif isinstance(content, list):
            if not content and not final_assistant:
                raise ApiError(f"{where}.content: List should have at least 1 item")
            for j, block in enumerate(content):
                _check_text_block(block, f"{where}.content.{j}")
        else:
            raise ApiError(f"{where}.content: Input should be a valid string or list of blocks")
        if final_assistant and _text_of(content) != _text_of(content).rstrip():
            raise ApiError("final assistant content cannot end with trailing whitespace")
    system = body.get("system")
    if isinstance(system, list):
        for j, block in enumerate(system):
            _check_text_block(block, f"system.{j}")
            if block["type"] != "text":
                raise ApiError(f"system.{j}.type: Input should be 'text'")
    elif system is not None and not isinstance(system, str):
        raise ApiError("system: Input should be a valid string or a list of text blocks")
    tools = body.get("tools")
    if tools is not None and not (
        isinstance(tools, list) and all(isinstance(t, dict) and t.get("name") for t in tools)
    ):
        raise ApiError("tools: Input should be a list of tool objects with a 'name'")
    for j, tool in enumerate(tools or []):
        if "cache_control" in tool:
            _check_cache_control(tool["cache_control"], f"tools.{j}")
    top = body.get("cache_control")
    if top is not None:
        _check_cache_control(top, "cache_control")
    marked = sum(1 for _, _, cc in _segments({**body, "cache_control": None}) if cc)
    marked += 1 if top else 0
    if marked > 4:
        raise ApiError(f"A maximum of 4 blocks with cache_control may be provided. Found {marked}.")
    for name in ("temperature", "top_p"):
        value = body.get(name)
        numeric = isinstance(value, int | float) and not isinstance(value, bool)
        if value is not None and not (numeric and 0 <= value <= 1):
            raise ApiError(f"{name}: Input should be a number between 0 and 1")
    stops = body.get("stop_sequences")
    if stops is not None and (
        not isinstance(stops, list) or not all(isinstance(s, str) for s in stops)
    ):
        raise ApiError("stop_sequences: Input should be a valid list of strings")
    if "stream" in body and not isinstance(body["stream"], bool):
        raise ApiError("stream: Input should be a valid boolean")
    output_config = body.get("output_config")
    if output_config is not None:
        if not isinstance(output_config, dict) or set(output_config) - {"format", "effort"}:
            raise ApiError("output_config: Input should be an object with 'format' and/or 'effort'")
        fmt = output_config.get("format")
        if fmt is not None:
            if not isinstance(fmt, dict) or fmt.get("type") != "json_schema":
                raise ApiError("output_config.format.type: Input should be 'json_schema'")
            if "schema" not in fmt:
                raise ApiError("output_config.format.schema: Field required")
            _check_schema(fmt["schema"], "output_config.format.schema")


def _sse(message: dict[str, Any]) -> AsyncIterator[bytes]:
    """The message as the API's server-sent event sequence (text in 64-character deltas)."""

    async def events() -> AsyncIterator[bytes]:
        def event(name: str, data: dict[str, Any]) -> bytes:
            return f"event: {name}\ndata: {json.dumps(data)}\n\n".encode()

        text = message["content"][0]["text"]
        start = {**message, "content": [], "stop_reason": None, "stop_sequence": None}
        start["usage"] = {**message["usage"], "output_tokens": 1}
        yield event("message_start", {"type": "message_start", "message": start})
        empty = {"type": "text", "text": ""}
        yield event(
            "content_block_start",
            {"type": "content_block_start", "index": 0, "content_block": empty},
        )
        yield event("ping", {"type": "ping"})
        for i in range(0, len(text), 64):
            delta = {"type": "text_delta", "text": text[i : i + 64]}
            yield event(
                "content_block_delta", {"type": "content_block_delta", "index": 0, "delta": delta}
            )
        yield event("content_block_stop", {"type": "content_block_stop", "index": 0})
        stop = {"stop_reason": message["stop_reason"], "stop_sequence": message["stop_sequence"]}
        usage = {"output_tokens": message["usage"]["output_tokens"]}
        yield event("message_delta", {"type": "message_delta", "delta": stop, "usage": usage})
        yield event("message_stop", {"type": "message_stop"})

    return events()


def create_app(ctx: SandboxContext, *, min_cacheable_tokens: int = 0) -> Starlette:
    """The Anthropic twin; ``ctx`` is unused (Claude calls nobody back) but kept uniform."""
    state = _State()

    def authenticate(request: Request, request_id: str) -> Response | None:
        """401/400 for a missing key or API version, checked in the API's order.

        anthropic 2.x sends the key as ``Authorization: Bearer``, older SDKs as ``x-api-key``;
        both are accepted. Any key works: the sandbox guards no account.
        """
        bearer = request.headers.get("authorization", "")
        token = bearer[7:].strip() if bearer[:7].lower() == "bearer " else ""
        if not request.headers.get("x-api-key") and not token:
            return _error(401, "x-api-key or Authorization: Bearer header is required", request_id)
        version = request.headers.get("anthropic-version")
        if not version:
            return _error(400, "anthropic-version: header is required", request_id)
        if not VERSION_RE.fullmatch(version) or version < "2023-01-01":
            return _error(400, f"anthropic-version: invalid version '{version}'", request_id)
        return None

    async def read_json(request: Request, request_id: str) -> dict[str, Any] | Response:
        """The parsed body, or the 400 the API sends for a body that is not a JSON object."""
        try:
            body = json.loads(await request.body())
        except ValueError:
            return _error(400, "There was an error parsing the body of your request", request_id)
        if not isinstance(body, dict):
            return _error(400, "request body must be a JSON object", request_id)
        return body

    async def messages(request: Request) -> Response:
        request_id = _new_id("req")
        raw = await request.body()
        try:
            logged_body: Any = json.loads(raw)
        except ValueError:
            logged_body = raw.decode("utf-8", "replace")
        fault = state.faults[0] if state.faults else None
        if fault is not None and not fault.get("repeat"):
            state.faults.pop(0)
        entry: dict[str, Any] = {
            "request_id": request_id,
            "method": request.method,
            "path": request.url.path,
            "received_at": datetime.now(UTC).isoformat(),
            "headers": {k: v for k, v in request.headers.items() if k not in HIDDEN_HEADERS},
            "body": logged_body,
            "fault": fault,
            "status": None,
            "response": None,
        }
        state.requests.append(entry)
        response = await respond(request, request_id, fault or {})
        entry["status"] = response.status_code
        if isinstance(response, JSONResponse):
            entry["response"] = json.loads(bytes(response.body))
        else:  # a stream: log the message it carries
            entry["response"] = getattr(response, "message", None)
        return response

    async def respond(request: Request, request_id: str, fault: dict[str, Any]) -> Response:
        """Apply the fault, then authenticate, validate and answer."""
        if fault.get("delay_s"):
            await asyncio.sleep(float(fault["delay_s"]))
        if fault.get("status") is not None:
            return _fault_response(fault, request_id)
        if (denied := authenticate(request, request_id)) is not None:
            return denied
        body = await read_json(request, request_id)
        if isinstance(body, Response):
            return body
        try:
            validate_messages_request(body)
        except ApiError as exc:
            return _error(exc.status, exc.message, request_id)
        text, stop_reason, stop_sequence = _answer(body, fault.get("malformed"))
        usage = _usage(state, body, min_cacheable_tokens)
        message = {
            "id": _new_id("msg"),
            "type": "message",
            "role": "assistant",
            "model": body["model"],
            "content": [{"type": "text", "text": text}],
            "stop_reason": stop_reason,
            "stop_sequence": stop_sequence,
            "usage": {**usage, "output_tokens": _tokens(text)},
        }
        headers = {"request-id": request_id}
        if body.get("stream"):
            stream = StreamingResponse(
                _sse(message), media_type="text/event-stream", headers=headers
            )
            stream.message = message  # type: ignore[attr-defined]  # for the request log
            return stream
        return JSONResponse(message, headers=headers)

    async def count_tokens(request: Request) -> Response:
        request_id = _new_id("req")
        if (denied := authenticate(request, request_id)) is not None:
            return denied
        body = await read_json(request, request_id)
        if isinstance(body, Response):
            return body
        try:
            validate_messages_request({**body, "max_tokens": 1})
        except ApiError as exc:
            return _error(exc.status, exc.message, request_id)
        total = sum(tokens for _, tokens, _ in _segments(body)) + 3
        return JSONResponse({"input_tokens": total}, headers={"request-id": request_id})

    async def faults(request: Request) -> Response:
        if request.method == "DELETE":
            state.faults.clear()
        elif request.method == "POST":
            try:
                payload = json.loads(await request.body() or b"{}")
            except ValueError:
                payload = None
            queue = payload.get("queue") if isinstance(payload, dict) else None
            if not isinstance(queue, list):
                return JSONResponse({"error": 'body must be {"queue": [fault, ...]}'}, 400)
            for fault in queue:
                if problem := _check_fault(fault):
                    return JSONResponse({"error": problem, "fault": fault}, 400)
            state.faults.extend(queue)
        return JSONResponse({"queue": state.faults})

    async def requests(request: Request) -> Response:
        if request.method == "DELETE":
            state.requests.clear()
        return JSONResponse(state.requests)

    async def not_found(request: Request, exc: Exception) -> Response:
        """Unknown paths and methods answer in Anthropic's envelope, as the API does."""
        status = exc.status_code if isinstance(exc, HTTPException) else 404
        message = "Not Found" if status == 404 else "Method Not Allowed"
        return _error(status, message, _new_id("req"), type="not_found_error")

    return Starlette(
        routes=[
            Route("/v1/messages", messages, methods=["POST"]),
            Route("/v1/messages/count_tokens", count_tokens, methods=["POST"]),
            Route("/_control/faults", faults, methods=["GET", "POST", "DELETE"]),
            Route("/_control/requests", requests, methods=["GET", "DELETE"]),
        ],
        exception_handlers={404: not_found, 405: not_found},
    )
