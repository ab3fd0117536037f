"""``TRACING__EXPORT``: each request's span sent over OTLP/HTTP to a receiver on loopback, or nothing.

The receiver is a small aiohttp server accepting ``POST /v1/traces`` (OTLP/HTTP's protobuf), which
the exporter is pointed at with OpenTelemetry's own variable, as an operator would point it at a
collector.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiohttp import web
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.trace.v1.trace_pb2 import Span

import fakes
from orchestrator.span_export import NoExport, span_export
from orchestrator.tracing import TracingConfig
from tests.orchestrator.conftest import METRICS, answer_instead

TRACE_ID, CALLER = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
#: How long a span may take to arrive: the batch is sent every 50 ms here (OTEL_BSP_SCHEDULE_DELAY).
ARRIVAL_S = 10


class Receiver:
    """An OTLP/HTTP receiver: every span of every request it was sent."""

    def __init__(self) -> None:
        self.spans: list[tuple[dict[str, Any], Span]] = []
        self.paths: list[str] = []

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/v1/traces", self.traces)
        return app

    async def traces(self, request: web.Request) -> web.Response:
        self.paths.append(request.path)
        sent = ExportTraceServiceRequest.FromString(await request.read())
        for resource_spans in sent.resource_spans:
            resource = {item.key: item.value.string_value for item in resource_spans.resource.attributes}
            for scope_spans in resource_spans.scope_spans:
                self.spans.extend((resource, span) for span in scope_spans.spans)
        answer = ExportTraceServiceResponse().SerializeToString()
        return web.Response(body=answer, content_type="application/x-protobuf")

    async def span_of(self, trace_id: str) -> tuple[dict[str, Any], Span]:
        async with asyncio.timeout(ARRIVAL_S):
            while True:
                for resource, span in self.spans:
                    if span.trace_id.hex() == trace_id:
                        return resource, span
                await asyncio.sleep(0.02)


@pytest.fixture
async def receiver(aiohttp_server, monkeypatch) -> Receiver:
    receiver = Receiver()
    server = await aiohttp_server(receiver.app())
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", str(server.make_url("")).rstrip("/"))
    monkeypatch.setenv("OTEL_BSP_SCHEDULE_DELAY", "50")
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", raising=False)
    monkeypatch.delenv("OTEL_SERVICE_NAME", raising=False)
    return receiver


async def test_a_requests_span_arrives_with_its_trace_id_and_the_callers_span_as_parent(start, receiver):
    client, _ = await start(tracing={"export": "otlp"})
    response = await client.post(
        "/api/backtest",
        json=fakes.backtest_request(),
        headers={"traceparent": f"00-{TRACE_ID}-{CALLER}-01"},
    )
    ours = response.headers["traceresponse"].split("-")[2]
    resource, span = await receiver.span_of(TRACE_ID)
    assert (span.span_id.hex(), span.parent_span_id.hex()) == (ours, CALLER)
    assert (span.name, span.kind) == ("POST /api/backtest", Span.SPAN_KIND_SERVER)
    attributes = {item.key: item.value for item in span.attributes}
    assert attributes["http.response.status_code"].int_value == 200
    assert attributes["http.route"].string_value == "/api/backtest"
    assert span.end_time_unix_nano >= span.start_time_unix_nano > 0
    assert resource["service.name"] == "backtest-orchestrator"
    assert receiver.paths[0] == "/v1/traces"


async def test_a_new_trace_is_exported_with_the_ids_told_back_and_no_parent(start, receiver):
    client, _ = await start(tracing={"export": "otlp"})
    response = await client.get("/health")
    _, trace_id, span_id, _ = response.headers["traceresponse"].split("-")
    _, span = await receiver.span_of(trace_id)
    assert (span.span_id.hex(), span.parent_span_id) == (span_id, b"")
    assert span.name == "GET /health"


async def test_a_failed_request_is_a_span_with_an_error_status(client_for, happy, receiver):
    client = await client_for(tracing={"export": "otlp"}, retry={"max_attempts": 1})
    answer_instead(happy, f"{METRICS}/calculate", status=500, body="boom")
    response = await client.post("/api/backtest", json=fakes.backtest_request())
    assert response.status == 502
    _, span = await receiver.span_of(response.headers["traceresponse"].split("-")[1])
    assert span.status.code == span.status.STATUS_CODE_ERROR


async def test_a_callers_unsampled_trace_is_not_exported(start, receiver):
    client, _ = await start(tracing={"export": "otlp"})
    await client.get("/health", headers={"traceparent": f"00-{TRACE_ID}-{CALLER}-00"})
    sampled = await client.get("/health")
    await receiver.span_of(sampled.headers["traceresponse"].split("-")[1])  # sent after the first
    assert TRACE_ID not in {span.trace_id.hex() for _, span in receiver.spans}


async def test_with_export_off_nothing_is_sent(start, receiver):
    client, _ = await start()
    await client.get("/health")
    exporting, _ = await start(tracing={"export": "otlp"})
    sent = await exporting.get("/health")
    await receiver.span_of(sent.headers["traceresponse"].split("-")[1])  # the receiver does hear
    assert len(receiver.spans) == 1


def test_export_off_makes_nothing():
    assert isinstance(span_export(TracingConfig()), NoExport)
