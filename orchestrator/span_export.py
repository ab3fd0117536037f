"""Each request exported as a span (``TRACING__EXPORT=otlp``), through OpenTelemetry's SDK.

The ids are the ones ``tracing.py`` drew for the request (the trace, our span, the caller's span as
its parent), the ones the logs, ``traceresponse`` and the services' ``traceparent`` carry: the SDK
is handed them by the id generator of its own tracer provider (:class:`_RequestIds`), its documented
way to choose ids, so nothing else changes when export is on. The span is made once the request is
answered, with the times it began and ended; the SDK's ``BatchSpanProcessor`` queues it and its
OTLP/HTTP exporter sends batches from a thread of its own, never from the event loop.

Where spans go, and how, is OpenTelemetry's standard configuration, read by the SDK: the endpoint
(``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``, else ``OTEL_EXPORTER_OTLP_ENDPOINT`` + ``/v1/traces``,
else ``http://localhost:4318/v1/traces``), its headers, timeout and compression, the batching
(``OTEL_BSP_*``), the sampler (parent-based: a caller's unsampled trace is not exported), and the
resource (``OTEL_SERVICE_NAME``, ``OTEL_RESOURCE_ATTRIBUTES``; the service name defaults to ours).

OpenTelemetry is imported only when export is on (``otlp_export.py``): it is the ``tracing``
extra, not a dependency of the gateway (``TracingConfig`` refuses ``otlp`` without it, so start-up
stops with the command that installs it).
"""

from __future__ import annotations

from typing import Protocol

from orchestrator.tracing import Attributes, TraceContext, TracingConfig


class SpanExport(Protocol):
    def request(
        self,
        trace: TraceContext,
        name: str,
        began_ns: int,
        ended_ns: int,
        attributes: Attributes,
        failed: bool,
    ) -> None:
        """Export one answered request as a server span (``failed``: its status is an error)."""

    async def close(self) -> None:
        """Send what is queued, then stop."""


class NoExport:
    """``TRACING__EXPORT=off``: nothing is made, nothing is sent."""

    def request(
        self,
        trace: TraceContext,
        name: str,
        began_ns: int,
        ended_ns: int,
        attributes: Attributes,
        failed: bool,
    ) -> None:
        pass

    async def close(self) -> None:
        pass


def span_export(config: TracingConfig) -> SpanExport:
    """What the settings ask for: no export, or OTLP/HTTP through OpenTelemetry's SDK."""
    if config.export == "off":
        return NoExport()
    from orchestrator.otlp_export import OtlpExport

    return OtlpExport()
