"""Request context and error envelopes, for every route.

``request_context`` (outermost) gives each request an id, binds it into the log context and writes
the one canonical log line when the request ends; handlers add their own fields to
``request[LOG_FIELDS]``. ``error_envelopes`` turns every failure into CONTRACTS.md's envelope.
"""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from collections.abc import Awaitable, Callable

import structlog
from aiohttp import web

from orchestrator.errors import (
    ApiError,
    InternalError,
    InvalidRequest,
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    UnsupportedMediaType,
)
from orchestrator.keys import SETTINGS
from orchestrator.wire import json_response

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

REQUEST_ID = "request_id"
LOG_FIELDS = "log_fields"
REQUEST_ID_HEADER = "X-Request-ID"
_VALID_REQUEST_ID = re.compile(r"[A-Za-z0-9._:\-]{1,128}")
# nginx's code for "the client closed the request": it never reaches a client, only the log.
CLIENT_CLOSED_REQUEST = 499

log = structlog.get_logger("orchestrator")

_HTTP_ERRORS: dict[int, type[ApiError]] = {
    400: InvalidRequest,
    404: NotFound,
    405: MethodNotAllowed,
    413: PayloadTooLarge,
    415: UnsupportedMediaType,
}


@web.middleware
async def request_context(request: web.Request, handler: Handler) -> web.StreamResponse:
    offered = request.headers.get(REQUEST_ID_HEADER, "")
    request_id = offered if _VALID_REQUEST_ID.fullmatch(offered) else uuid.uuid4().hex
    request[REQUEST_ID] = request_id
    request[LOG_FIELDS] = fields = {"event": "request"}
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(request_id=request_id)
    began = time.perf_counter()
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
        duration_ms = round((time.perf_counter() - began) * 1000, 1)
        log.info(
            event, method=request.method, path=request.path, status=status, duration_ms=duration_ms, **fields
        )


@web.middleware
async def error_envelopes(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except ApiError as error:
        return _error_response(request, error)
    except web.HTTPException as http_error:
        if http_error.status < 400:
            raise
        return _error_response(request, _from_http(http_error, request.app[SETTINGS].max_body_bytes))
    except Exception:
        log.exception("unexpected error", method=request.method, path=request.path)
        return _error_response(request, InternalError("An unexpected error occurred; it has been logged"))


def _from_http(http_error: web.HTTPException, max_body_bytes: int) -> ApiError:
    error_class = _HTTP_ERRORS.get(http_error.status)
    if error_class is PayloadTooLarge:
        return PayloadTooLarge("The request body is too large", {"max_bytes": max_body_bytes})
    if error_class is MethodNotAllowed:
        allowed = sorted(getattr(http_error, "allowed_methods", ()) or ())
        return MethodNotAllowed("Method not allowed for this path", {"allowed": allowed})
    if error_class is NotFound:
        return NotFound("No such endpoint", {})
    if error_class is not None:
        return error_class(http_error.reason, {})
    return InternalError("An unexpected error occurred; it has been logged")


def _error_response(request: web.Request, error: ApiError) -> web.Response:
    request[LOG_FIELDS].update(outcome=error.code, error=error.message)
    return json_response(error.envelope(), status=error.status)


async def add_request_id_header(request: web.Request, response: web.StreamResponse) -> None:
    """on_response_prepare: echo the id even on streamed answers, whose headers go out early."""
    if REQUEST_ID in request:
        response.headers[REQUEST_ID_HEADER] = request[REQUEST_ID]
