"""Optional OpenTelemetry tracing: one span per GraphQL operation (never per field).

Nothing here is a dependency. Tracing turns on only when OTEL_EXPORTER_OTLP_ENDPOINT is set
and ``opentelemetry-sdk`` with the OTLP exporter is installed
(``pip install opentelemetry-sdk opentelemetry-exporter-otlp-proto-http``); otherwise spans are
free no-ops. Per-field spans would multiply the cost of every list by its length, so the
operation is the unit.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from typing import Any

logger = logging.getLogger("callfluently.tracing")


class OperationTracer:
    """Starts operation spans when tracing is configured; does nothing otherwise."""

    def __init__(self, tracer: Any = None) -> None:
        self._tracer = tracer

    @property
    def enabled(self) -> bool:
        return self._tracer is not None

    @classmethod
    def configure(cls, *, endpoint: str | None, service_name: str) -> OperationTracer:
        """A tracer exporting to ``endpoint`` over OTLP/HTTP, or a disabled one."""
        if not endpoint:
            return cls()
        try:
            from opentelemetry import trace
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
            from opentelemetry.sdk.resources import Resource
            from opentelemetry.sdk.trace import TracerProvider
            from opentelemetry.sdk.trace.export import BatchSpanProcessor
        except ImportError:
            logger.warning("OTEL_EXPORTER_OTLP_ENDPOINT is set but opentelemetry-sdk or the OTLP "
                           "exporter is not installed: tracing is off")
            return cls()
        provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
        # The exporter reads OTEL_EXPORTER_OTLP_* itself (headers, protocol details).
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
        trace.set_tracer_provider(provider)
        return cls(trace.get_tracer("callfluently.graphql"))

    @contextlib.contextmanager
    def operation(self, name: str, attributes: dict[str, str]) -> Iterator[Any]:
        """A span around one operation; yields the span (or None when tracing is off)."""
        if self._tracer is None:
            yield None
            return
        with self._tracer.start_as_current_span(f"graphql {name}", attributes=attributes) as span:
            yield span
