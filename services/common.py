"""What every reference service shares: the answer envelope, its errors, body validation, ``/health``.

Every answer is ``{"success": true, "data": ...}`` or ``{"success": false, "error": {code, message,
details}}`` (docs/contract.md), written with orjson. Handlers are plain functions from a
validated pydantic body to ``data``; :func:`json_endpoint` does the reading, validating and wrapping,
so no handler ever lets a traceback or an exception's text reach the caller.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

import orjson
from pydantic import BaseModel, ValidationError
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

M = TypeVar("M", bound=BaseModel)

log = logging.getLogger("services")

#: The largest body a service reads: a simulation of fifty years of daily prices and signals is
#: about 2 MB, so 8 MB leaves room and no more (one request must not hold a service's memory).
MAX_BODY_BYTES = 8 * 1024 * 1024


class OrjsonResponse(JSONResponse):
    """JSON written by orjson: fast, and NaN or infinity become ``null`` instead of invalid JSON."""

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


class ServiceError(Exception):
    """An error answered as the envelope, with a code from docs/contract.md's table and its HTTP status."""

    def __init__(
        self,
        code: str,
        message: str,
        status: int = 400,
        details: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ):
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
        self.details = details or {}
        #: sent with the answer, e.g. ``Retry-After`` on a 503
        self.headers = headers or {}

    def response(self) -> Response:
        error = {"code": self.code, "message": self.message, "details": self.details}
        body = {"success": False, "error": error}
        return OrjsonResponse(body, status_code=self.status, headers=self.headers)


def invalid_request(message: str, errors: list[dict[str, str]]) -> ServiceError:
    """INVALID_REQUEST (400); ``errors`` lists ``{"field": "a.b.0", "message": ...}`` for each problem."""
    return ServiceError("INVALID_REQUEST", message, 400, {"errors": errors})


def insufficient_data(message: str, **details: Any) -> ServiceError:
    return ServiceError("INSUFFICIENT_DATA", message, 400, details)


def success(data: Any) -> Response:
    return OrjsonResponse({"success": True, "data": data})


def describe_errors(error: ValidationError, prefix: Sequence[str | int] = ()) -> list[dict[str, str]]:
    """Each pydantic problem as ``{"field": dotted path, "message": what is wrong}``."""
    described = []
    for item in error.errors(include_url=False, include_context=False, include_input=False):
        path = ".".join(str(part) for part in (*prefix, *item["loc"])) or "body"
        described.append({"field": path, "message": item["msg"].removeprefix("Value error, ")})
    return described


def validate(model: type[M], document: Any, prefix: Sequence[str | int] = (), subject: str = "request") -> M:
    """``document`` as ``model``, or INVALID_REQUEST listing every problem with its field path."""
    try:
        return model.model_validate(document)
    except ValidationError as error:
        errors = describe_errors(error, prefix)
        shown = "; ".join(f"{e['field']}: {e['message']}" for e in errors[:3])
        more = f" (and {len(errors) - 3} more)" if len(errors) > 3 else ""
        raise invalid_request(f"Invalid {subject}: {shown}{more}", errors) from None


async def read_json_object(request: Request) -> dict[str, Any]:
    """The body decoded as a JSON object; INVALID_REQUEST when it is empty, not JSON or not an object."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise _too_large()
    body = await request.body()
    if len(body) > MAX_BODY_BYTES:
        raise _too_large()
    if not body.strip():
        raise invalid_request(
            "The request body is empty; send a JSON object", [{"field": "body", "message": "empty"}]
        )
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise invalid_request(
            "The request body is not valid JSON", [{"field": "body", "message": "not valid JSON"}]
        ) from None
    if not isinstance(document, dict):
        raise invalid_request(
            "The request body must be a JSON object", [{"field": "body", "message": "must be an object"}]
        )
    return document


def _too_large() -> ServiceError:
    return ServiceError("PAYLOAD_TOO_LARGE", f"The body is over {MAX_BODY_BYTES} bytes", 413)


def json_endpoint(
    model: type[M], handler: Callable[[M], Any], *, blocking: bool = False
) -> Callable[[Request], Awaitable[Response]]:
    """A POST endpoint: read and validate the body as ``model``, answer ``handler(body)`` as the envelope.

    Handlers are synchronous. Quick ones (milliseconds of arithmetic) run on the event loop; one that
    waits on the network (``blocking``, e.g. over the yahoo market data provider) runs in Starlette's
    thread pool, so the loop keeps serving other requests, ``/health`` included, meanwhile.
    """

    async def body(request: Request) -> M:
        return validate(model, await read_json_object(request))

    return _endpoint(body, handler, blocking)


def query_endpoint(
    model: type[M], handler: Callable[[M], Any], *, blocking: bool = False
) -> Callable[[Request], Awaitable[Response]]:
    """A GET endpoint: validate the query string as ``model`` (a repeated parameter counts once, the
    last), answer ``handler(query)`` as the envelope; as :func:`json_endpoint` does for a body."""

    async def query(request: Request) -> M:
        return validate(model, dict(request.query_params), subject="query")

    return _endpoint(query, handler, blocking)


def _endpoint(
    read: Callable[[Request], Awaitable[M]], handler: Callable[[M], Any], blocking: bool
) -> Callable[[Request], Awaitable[Response]]:
    """What the endpoints share: ``handler(await read(request))`` as the envelope, never a traceback."""

    async def endpoint(request: Request) -> Response:
        try:
            given = await read(request)
            if blocking:
                return success(await run_in_threadpool(handler, given))
            return success(handler(given))
        except ServiceError as error:
            return error.response()
        except Exception:
            # Logged with its stack for us; the caller gets the envelope without it.
            log.exception("unexpected error answering %s %s", request.method, request.url.path)
            return ServiceError("INTERNAL_ERROR", "An unexpected error occurred", 500).response()

    return endpoint


def create_service_app(name: str, routes: Sequence[BaseRoute]) -> Starlette:
    """A Starlette app with ``routes``, ``GET /health`` and envelope answers for 404 and 405."""

    async def health(_: Request) -> Response:
        return OrjsonResponse({"status": "healthy", "service": name})

    return Starlette(
        routes=[Route("/health", health, methods=["GET"]), *routes],
        exception_handlers={HTTPException: _http_error},
    )


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        return ServiceError("NOT_FOUND", f"No such endpoint: {request.url.path}", 404).response()
    if exc.status_code == 405:
        error = ServiceError("METHOD_NOT_ALLOWED", f"{request.method} is not allowed here", 405)
        response = error.response()
        if exc.headers and "Allow" in exc.headers:
            response.headers["Allow"] = exc.headers["Allow"]
        return response
    return ServiceError("HTTP_ERROR", str(exc.detail), exc.status_code).response()
