"""Structured JSON logs with the request's context, and a filter that keeps secrets out.

Every record carries the request id, the GraphQL operation name and who called (user id or API
key id) from context variables bound per request, so one grep finds everything a request or a
key did. ``Redact`` runs on every handler: extras whose names suggest secrets, tokens, passwords
or transcript text are replaced, and credentials that look like bearer tokens, JWTs or API keys
are masked inside messages too. Log with ``extra={}`` and ids; never log values you would redact.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

REDACTED = "[redacted]"

_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
_operation: contextvars.ContextVar[str | None] = contextvars.ContextVar("operation", default=None)
_user_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("user_id", default=None)
_api_key_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("api_key_id", default=None)
_CONTEXT = {"request_id": _request_id, "operation": _operation, "user_id": _user_id,
            "api_key_id": _api_key_id}

#: Extra keys never logged as they are (matched anywhere in the key, case-insensitively).
_SENSITIVE_KEY = re.compile(
    r"pass(word|wd)?|secret|token|authorization|cookie|credential|api_?key(?!_id)|signature"
    r"|transcript|utterance|^text$|_text$|^content$|card|cvc|iban|refresh",
    re.IGNORECASE,
)
#: Credentials recognisable by their shape, masked wherever they appear in a message.
_SECRET_SHAPES = (
    (re.compile(r"(?i)\bbearer\s+[A-Za-z0-9._~+/=-]+"), "Bearer " + REDACTED),
    (re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*"), REDACTED),
    (re.compile(r"\bcfk_[A-Za-z0-9_-]{8,}"), "cfk_" + REDACTED),
    (re.compile(r"\b(sk|rk|whsec)_(live|test)?_?[A-Za-z0-9]{8,}"), REDACTED),
    (re.compile(r"(?i)\b(variables|extensions|password|token|code)=[^&\s]+"), r"\1=" + REDACTED),
    # The single-use export download link carries its token in the path (access logs).
    (re.compile(r"(/privacy/exports/)[^\s\"?/]+"), r"\1" + REDACTED),
)
_STANDARD_ATTRS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {
    "message", "asctime", "taskName",
}


@contextmanager
def bound(**fields: str | None) -> Iterator[None]:
    """Bind request context (request_id, operation, user_id, api_key_id) for the block."""
    tokens = [(_CONTEXT[name], _CONTEXT[name].set(value)) for name, value in fields.items()]
    try:
        yield
    finally:
        for var, token in reversed(tokens):
            var.reset(token)


def bind(**fields: str | None) -> None:
    """Bind request context for the rest of the current task (a request's own task)."""
    for name, value in fields.items():
        _CONTEXT[name].set(value)


def context_fields() -> dict[str, str]:
    """The bound request context, for records that must carry it whatever the handlers."""
    return {name: value for name, var in _CONTEXT.items() if (value := var.get()) is not None}


def scrub(text: str) -> str:
    """``text`` with recognisable credentials masked."""
    for pattern, replacement in _SECRET_SHAPES:
        text = pattern.sub(replacement, text)
    return text


def _clean(key: str, value: Any) -> Any:
    if _SENSITIVE_KEY.search(key):
        return REDACTED
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, dict):
        return {str(k): _clean(str(k), v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(key, v) for v in value]
    return value


class Redact(logging.Filter):
    """Mask secrets in extras, arguments and messages before any handler formats them."""

    def filter(self, record: logging.LogRecord) -> bool:
        for key in [k for k in vars(record) if k not in _STANDARD_ATTRS]:
            setattr(record, key, _clean(key, getattr(record, key)))
        if record.args:
            record.msg = record.getMessage()
            record.args = None
        if isinstance(record.msg, str):
            record.msg = scrub(record.msg)
        return True


class RequestContext(logging.Filter):
    """Copy the bound request context onto each record."""

    def filter(self, record: logging.LogRecord) -> bool:
        for name, var in _CONTEXT.items():
            value = var.get()
            if value is not None and not hasattr(record, name):
                setattr(record, name, value)
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, context and extras."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD_ATTRS and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exc"] = scrub(self.formatException(record.exc_info))
        return json.dumps(entry, default=str, ensure_ascii=False)


def configure(level: str, fmt: str = "json") -> None:
    """Send every logger (uvicorn's too) to stdout through the context and redaction filters."""
    handler = logging.StreamHandler(sys.stdout)
    handler.addFilter(RequestContext())
    handler.addFilter(Redact())
    handler.setFormatter(
        JsonFormatter() if fmt == "json"
        else logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s")
    )
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
