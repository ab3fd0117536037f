"""``TRACING__EXPORT=otlp``: request spans made by OpenTelemetry's SDK, sent by its OTLP/HTTP exporter.

Imported only when export is on (``span_export.py`` says what and why): this module is the one
place that needs the ``tracing`` extra.
"""

from __future__ import annotations

import asyncio
import contextvars

from opentelemetry.context import Context
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.id_generator import RandomIdGenerator
from opentelemetry.trace import (
    NonRecordingSpan,
    SpanContext,
    SpanKind,
    StatusCode,
    TraceFlags,
    TraceState,
    set_span_in_context,
)

from orchestrator.tracing import Attributes, TraceContext

#: The ``service.name`` of our spans, unless ``OTEL_SERVICE_NAME`` says otherwise.
SERVICE_NAME = "backtest-orchestrator"
#: The instrumentation scope our spans are made under.
SCOPE = "orchestrator"


class OtlpExport:
    """Spans batched by the SDK and sent over OTLP/HTTP from its own thread."""

    def __init__(self) -> None:
        self._ids = RequestIds()
        # Resource.create reads OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES over our default;
        # the exporter reads OTEL_EXPORTER_OTLP_* (endpoint, headers, timeout, compression).
        resource = Resource.create({"service.name": SERVICE_NAME})
        self._provider = TracerProvider(resource=resource, id_generator=self._ids)
        self._provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
        self._tracer = self._provider.get_tracer(SCOPE)

    def request(
        self,
        trace: TraceContext,
        name: str,
        began_ns: int,
        ended_ns: int,
        attributes: Attributes,
        failed: bool,
    ) -> None:
        token = self._ids.given.set(trace)
        try:
            span = self._tracer.start_span(
                name, parent_context(trace), SpanKind.SERVER, dict(attributes), start_time=began_ns
            )
        finally:
            self._ids.given.reset(token)
        if failed:
            span.set_status(StatusCode.ERROR)
        span.end(end_time=ended_ns)

    async def close(self) -> None:
        # shutdown() sends what is queued and joins the exporter's thread: never on the loop.
        await asyncio.to_thread(self._provider.shutdown)


def parent_context(trace: TraceContext) -> Context:
    """The context the request's span starts in: the caller's span (remote), or none at all."""
    if trace.parent_id is None:
        return Context()  # a new trace, whatever span may be current
    caller = SpanContext(
        int(trace.trace_id, 16),
        int(trace.parent_id, 16),
        is_remote=True,
        trace_flags=TraceFlags(int(trace.flags, 16)),
        trace_state=TraceState.from_header([trace.tracestate]) if trace.tracestate else None,
    )
    return set_span_in_context(NonRecordingSpan(caller))


class RequestIds(RandomIdGenerator):
    """The tracer provider's id generator (the SDK's way to choose ids): while a request's span is
    made, the ids ``tracing.py`` drew for that request; random ones otherwise."""

    def __init__(self) -> None:
        self.given: contextvars.ContextVar[TraceContext | None] = contextvars.ContextVar(
            "given", default=None
        )

    def generate_span_id(self) -> int:
        trace = self.given.get()
        return super().generate_span_id() if trace is None else int(trace.span_id, 16)

    def generate_trace_id(self) -> int:
        trace = self.given.get()
        return super().generate_trace_id() if trace is None else int(trace.trace_id, 16)
