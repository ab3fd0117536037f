"""Request context and error envelopes, for every route.

``request_context`` (outermost) gives each request an id and a trace (``trace_context.py``: the
caller's ``traceparent`` continued, or a new trace), binds them into the log context and writes
the one canonical log line when the request ends; handlers add their own fields to
``request[LOG_FIELDS]``. ``error_envelopes`` answers every failure with the error envelope, as
:func:`orchestrator.errors.to_api_error` maps it.
"""

from __future__ import annotations

import asyncio
import math
import re
import time
import uuid
from collections.abc import Awaitable, Callable

import structlog
from aiohttp import web

from orchestrator import metrics
from orchestrator.errors import ApiError, is_unexpected, to_api_error
from orchestrator.schemas.responses import error_envelope
from orchestrator.web.json_http import json_response
from orchestrator.web.keys import request_key
from orchestrator.web.trace_context import export_request_span, trace_request

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

REQUEST_ID = request_key("request_id", str)
LOG_FIELDS = request_key("log_fields", dict)
REQUEST_ID_HEADER = "X-Request-ID"
_VALID_REQUEST_ID = re.compile(r"[A-Za-z0-9._:\-]{1,128}")
# nginx's code for "the client closed the request": it never reaches a client, only the log.
CLIENT_CLOSED_REQUEST = 499

log = structlog.get_logger("orchestrator")


@web.middleware
async def request_context(request: web.Request, handler: Handler) -> web.StreamResponse:
    offered = request.headers.get(REQUEST_ID_HEADER, "")
    request_id = offered if _VALID_REQUEST_ID.fullmatch(offered) else uuid.uuid4().hex
    request[REQUEST_ID] = request_id
    trace = trace_request(request)  # the caller's trace continued, or a new one
    request[LOG_FIELDS] = fields = {"event": "request", **trace.caller_fields()}
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(request_id=request_id, **trace.log_fields())
    began, began_ns = time.perf_counter(), time.time_ns()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    except asyncio.CancelledError:
        status, fields["outcome"] = CLIENT_CLOSED_REQUEST, "client_closed"
        raise
    finally:
        event = fields.pop("event")
        fields.setdefault("outcome", "success" if status < 400 else "error")
        elapsed_s = time.perf_counter() - began
        duration_ms = round(elapsed_s * 1000, 1)
        _measure(request, status, elapsed_s)
        export_request_span(request, status, began_ns, began_ns + int(elapsed_s * 1e9))
        log.info(
            event, method=request.method, path=request.path, status=status, duration_ms=duration_ms, **fields
        )


def _measure(request: web.Request, status: int, elapsed_s: float) -> None:
    """The request in the metrics, by its route's canonical path: never the path as asked."""
    resource = request.match_info.route.resource
    route = resource.canonical if resource is not None else "unmatched"
    method = metrics.method_label(request.method)
    metrics.child(metrics.REQUESTS, route, method, str(status)).inc()
    metrics.child(metrics.REQUEST_SECONDS, route, method).observe(elapsed_s)


@web.middleware
async def error_envelopes(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except web.HTTPException as http_error:
        if http_error.status < 400:
            raise  # a redirect is an answer, not an error
        return error_response(request, http_error)
    except Exception as error:
        return error_response(request, error)


def error_response(request: web.Request, error: BaseException) -> web.Response:
    """The envelope answering ``error``; a bug of ours is logged with its stack, never shown."""
    api_error = note_error(request, error)
    response = json_response(error_envelope(api_error), status=api_error.status)
    if api_error.status in (408, 413):  # a body left unread, or half read: the connection is done
        response.force_close()
    if api_error.retry_after_s is not None:  # whole seconds, as HTTP wants them
        response.headers["Retry-After"] = str(max(1, math.ceil(api_error.retry_after_s)))
    if isinstance(error, web.HTTPMethodNotAllowed):  # HTTP requires the methods the path takes
        response.headers["Allow"] = error.headers["Allow"]
    return response


def note_error(request: web.Request, error: BaseException) -> ApiError:
    """Map ``error`` for the answer and the canonical line, logging the stack of a bug of ours."""
    if is_unexpected(error):
        log.error("unexpected error", method=request.method, path=request.path, exc_info=error)
    api_error = to_api_error(error)
    request[LOG_FIELDS].update(outcome=api_error.code, error=api_error.message)
    return api_error


async def add_request_id_header(request: web.Request, response: web.StreamResponse) -> None:
    """on_response_prepare: echo the id even on streamed answers, whose headers go out early."""
    if REQUEST_ID in request:
        response.headers[REQUEST_ID_HEADER] = request[REQUEST_ID]
