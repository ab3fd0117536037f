"""The trace of each request, read from its headers; our span, told back in ``traceresponse``.

``request_context`` (``middlewares.py``) calls :func:`trace_request` first thing, binds the trace and
span ids into the log context, and the routes hand ``request[TRACE]`` to the calls they make.
"""

from __future__ import annotations

from aiohttp import web

from orchestrator.tracing import TRACEPARENT, TRACERESPONSE, TRACESTATE, TraceContext
from orchestrator.web.keys import request_key

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
