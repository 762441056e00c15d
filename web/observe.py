"""Per-operation observability: latency and outcome metrics, a log line, an optional span.

The outcome is ``ok`` (no errors), ``error`` (data with field errors) or ``rejected`` (a request
error: parse, validation, limits, rate limit, persisted-query checks). The log line carries the
operation name, outcome, duration and error codes, and through the bound request context the
request id and the user or API key id: every use of a key is attributable. Variables and the
document are never logged (they can hold passwords and tokens).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from typing import Any

from strawberry.extensions import SchemaExtension
from strawberry.types.graphql import OperationType

from observability.logs import bound, context_fields
from web.http_protocol import error_codes, is_request_error

logger = logging.getLogger("callfluently.graphql")


def provided_name(ctx: Any) -> str | None:
    """The ``operationName`` the client sent (strawberry keeps it as a private field)."""
    name = getattr(ctx, "_provided_operation_name", None)
    return name if isinstance(name, str) else None


class Observe(SchemaExtension):
    """Put first in the extension list, so it sees everything the others refuse."""

    def __init__(self) -> None:
        self._subscription = False

    def on_operation(self) -> Iterator[None]:
        ctx = self.execution_context
        services = getattr(ctx.context, "services", None)
        started = time.perf_counter()
        name = provided_name(ctx)
        with bound(operation=name), (
            services.tracer.operation(name or "anonymous", {"graphql.operation.name": name or ""})
            if services is not None else _null()
        ) as span:
            try:
                yield
            finally:
                if self._subscription and services is not None:
                    services.metrics.subscription_ended()
                self._record(services, started, span)

    def on_validate(self) -> Iterator[None]:
        yield
        ctx = self.execution_context
        services = getattr(ctx.context, "services", None)
        try:
            is_sub = ctx.operation_type is OperationType.SUBSCRIPTION
        except RuntimeError:
            is_sub = False
        if is_sub and not ctx.pre_execution_errors and services is not None:
            self._subscription = True
            services.metrics.subscription_started()

    def _record(self, services: Any, started: float, span: Any) -> None:
        ctx = self.execution_context
        seconds = time.perf_counter() - started
        result = ctx.result
        errors = (result.errors if result is not None else None) or ctx.pre_execution_errors
        data = result.data if result is not None else None
        if not errors:
            outcome = "ok"
        elif is_request_error(data, errors):
            outcome = "rejected"
        else:
            outcome = "error"
        try:
            name = ctx.operation_name
        except RuntimeError:
            name = provided_name(ctx)
        codes = sorted(error_codes(errors))
        if services is not None:
            services.metrics.observe_operation(name, outcome, seconds)
        if span is not None:
            span.set_attribute("graphql.outcome", outcome)
        logger.info("graphql operation", extra={
            **context_fields(),
            "operation": name or "anonymous", "outcome": outcome,
            "duration_ms": round(seconds * 1000, 1), "error_codes": codes,
        })


class _null:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None
