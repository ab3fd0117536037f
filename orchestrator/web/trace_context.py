"""The trace of each request, read from its headers; our span, told back in ``traceresponse``, and
exported when ``TRACING__EXPORT`` says so.

``request_context`` (``middlewares.py``) calls :func:`trace_request` first thing, binds the trace and
span ids into the log context, and the routes hand ``request[TRACE]`` to the calls they make; once
the request is answered it calls :func:`export_request_span`.
"""

from __future__ import annotations

from aiohttp import web

from orchestrator import metrics
from orchestrator.tracing import TRACEPARENT, TRACERESPONSE, TRACESTATE, Attributes, TraceContext
from orchestrator.web.keys import SPAN_EXPORT, request_key

#: The request's :class:`TraceContext`.
TRACE = request_key("trace", TraceContext)
#: What a browser on another origin may send (CORS).
TRACE_HEADERS = (TRACEPARENT, TRACESTATE)


def trace_request(request: web.Request) -> TraceContext:
    """The caller's trace continued with a span of ours, or a new trace: never an error."""
    headers = request.headers
    trace = TraceContext.incoming(headers.getall(TRACEPARENT, ()), headers.getall(TRACESTATE, ()))
    request[TRACE] = trace
    return trace


async def add_traceresponse_header(request: web.Request, response: web.StreamResponse) -> None:
    """on_response_prepare: ``traceresponse: 00-<trace id>-<our span id>-<flags>``, on every answer
    (streamed ones too), so a caller that sent no ``traceparent`` can still find the request's lines."""
    trace = request.get(TRACE)
    if isinstance(trace, TraceContext):
        response.headers[TRACERESPONSE] = trace.traceparent


def export_request_span(request: web.Request, status: int, began_ns: int, ended_ns: int) -> None:
    """The answered request as a server span, named as OpenTelemetry's HTTP conventions say
    (``POST /api/backtest``: the method and the route's template, never the path as asked)."""
    spans, trace = request.app.get(SPAN_EXPORT), request.get(TRACE)
    if spans is None or not isinstance(trace, TraceContext):
        return
    method = metrics.method_label(request.method)
    resource = request.match_info.route.resource
    attributes: Attributes = {
        "http.request.method": method if method != "other" else "_OTHER",
        "url.path": request.path,
        "http.response.status_code": status,
    }
    name = method
    if resource is not None:
        attributes = {**attributes, "http.route": resource.canonical}
        name = f"{method} {resource.canonical}"
    spans.request(trace, name, began_ns, ended_ns, attributes, failed=status >= 500)
