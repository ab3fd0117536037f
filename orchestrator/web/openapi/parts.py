"""What the API's description is made of: operations, their answers and media types, the error
answers drawn from the error tree, and the headers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from orchestrator import errors

OPENAPI_VERSION = "3.1.0"
SCHEMA_REF = "#/components/schemas/{model}"
#: The same pattern as ``middlewares._VALID_REQUEST_ID``.
REQUEST_ID_PATTERN = r"^[A-Za-z0-9._:\-]{1,128}$"

# --- what an operation is made of ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Json:
    model: type[BaseModel]
    media_type: str = "application/json"


@dataclass(frozen=True, slots=True)
class Stream:
    """``text/event-stream``: each event by name, with the model of its (JSON) data."""

    events: dict[str, type[BaseModel]]
    description: str
    #: The schema of an event's ``id`` (a count from 1 by default), and whether every event has one.
    id_schema: dict[str, Any] = field(default_factory=lambda: {"type": "string", "pattern": "^[1-9][0-9]*$"})
    every_event_has_an_id: bool = True


@dataclass(frozen=True, slots=True)
class Raw:
    """Any other media type, with its schema as given."""

    media_type: str
    schema: dict[str, Any]


def text(media_type: str, description: str) -> Raw:
    return Raw(media_type, {"type": "string", "description": description})


Content = Json | Stream | Raw


@dataclass(frozen=True, slots=True)
class Answer:
    description: str
    contents: tuple[Content, ...]
    headers: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Operation:
    method: str
    path: str
    operation_id: str
    tag: str
    summary: str
    description: str
    answers: dict[int, Answer]
    #: The statuses of the error envelopes it may answer (``components/responses/Error<status>``).
    errors: tuple[int, ...]
    request: type[BaseModel] | None = None
    parameters: tuple[str, ...] = field(default=())
    #: Bodies to show (and to try, on the page), by name.
    examples: dict[str, dict[str, Any]] = field(default_factory=dict)


# --- the error answers, from the error tree -------------------------------------------------------

#: Anyone may get these, on any route: the HTTP layer's refusals (a malformed request, headers too
#: long or too many, headers too slow to arrive) and a bug of ours.
EDGE_ERRORS = (400, 408, 431, 500)
#: Reading a body: not JSON, too large, too slow, compressed or of another media type.
BODY_ERRORS = (400, 408, 411, 413, 415)
#: Running backtests: the services' errors (their codes that pass through keep our statuses, among
#: them 404, 405, 413 and 415), their failures and timeouts, and refusals for overload or shutdown.
RUN_ERRORS = (400, 404, 405, 413, 415, 502, 503, 504)
#: Answered by the HTTP layer before any request exists: no ``X-Request-ID`` then.
WITHOUT_REQUEST_ID = frozenset({400, 408, 431})

STATUS_MEANINGS = {
    400: "The request is not valid (`details.errors` lists each field's problem), or a service said "
    "so of its data: an unknown ticker or strategy, a bad date range, no prices.",
    401: "With `AUTH__MODE` on: no credential, or one not taken (the same answer whatever was wrong); "
    "with `WWW-Authenticate`.",
    403: "A cross-origin preflight from an origin not allowed, or a caller without the route's scope.",
    404: "Not found: no such path, no such job (or one expired, or another tenant's), or a service "
    "passed NOT_FOUND through.",
    405: "The method is not allowed (`details.allowed`), or a service passed METHOD_NOT_ALLOWED through.",
    408: "The headers or the body took too long to arrive; the connection is closed.",
    411: "The HTTP layer needs a length it was not given.",
    413: "The body is over `MAX_BODY_BYTES`.",
    415: "The body is not JSON, or is compressed.",
    422: "An `Idempotency-Key` sent before with another body.",
    429: "Over a quota: the caller's tenant's (`RATE_LIMITED`, `details.quota`, with `Retry-After`, "
    "`RateLimit-Policy` and `RateLimit`; `rate`, `backtests`, `jobs` or `settings`), or, with "
    "`AUTH__MODE=none`, the jobs one client address may have queued or running (`TOO_MANY_JOBS`, "
    "`details.max_per_client`).",
    431: "The request line or headers are too long, or too many.",
    500: "A bug of the orchestrator: logged with its stack, answered without it.",
    502: "A service answered outside its contract (`details.service` names it).",
    503: "A service is unavailable, or the orchestrator refused the work itself (overloaded, shutting "
    "down, a service's circuit open); a refusal carries `Retry-After`.",
    504: "A service did not answer in time, or the whole run passed its deadline.",
}


def codes_by_status() -> dict[int, list[str]]:
    """Each status of the error tree with its codes, sorted."""
    found: dict[int, set[str]] = {}
    pending: list[type[errors.ApiError]] = [errors.ApiError]
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        if hasattr(cls, "code"):  # a branch above the codes (the root, RequestError, DownstreamError)
            found.setdefault(cls.status, set()).add(cls.code)
    return {status: sorted(codes) for status, codes in sorted(found.items())}


def error_response(status: int, codes: list[str]) -> dict[str, Any]:
    narrowed = {"properties": {"error": {"properties": {"code": {"enum": codes}}}}}
    headers: dict[str, Any] = {"X-Request-ID": header_ref("RequestId", status not in WITHOUT_REQUEST_ID)}
    if status in (429, 503):
        headers["Retry-After"] = header_ref("RetryAfter")
    if status == 401:
        headers["WWW-Authenticate"] = header_ref("WwwAuthenticate", True)
    return {
        "description": f"{STATUS_MEANINGS[status]} Codes: {', '.join(codes)}.",
        "headers": headers,
        "content": {
            "application/json": {
                "schema": {"allOf": [{"$ref": SCHEMA_REF.format(model="ErrorResponse")}, narrowed]}
            }
        },
    }


def header_ref(name: str, required: bool = False) -> dict[str, Any]:
    # A reference cannot say ``required``: a required header is written out in full.
    if required:
        return {**HEADERS[name], "required": True}
    return {"$ref": f"#/components/headers/{name}"}


HEADERS: dict[str, dict[str, Any]] = {
    "RequestId": {
        "description": "The request id: the caller's `X-Request-ID` when valid, else one made here.",
        "schema": {"type": "string", "pattern": REQUEST_ID_PATTERN},
    },
    "RetryAfter": {
        "description": "Whole seconds after which to try again, when the orchestrator refused the work.",
        "schema": {"type": "integer", "minimum": 1},
    },
    "WwwAuthenticate": {
        "description": 'How to authenticate: `Bearer realm="orchestrator"`.',
        "schema": {"type": "string"},
    },
    "CacheControl": {
        "description": "How long the answer may be kept: `public, max-age=60`.",
        "schema": {"type": "string"},
    },
    "Location": {
        "description": "Where the job made (or found, with `Idempotency-Key`) is: `/api/jobs/{id}`.",
        "schema": {"type": "string"},
    },
    "IdempotentReplayed": {
        "description": "`true` when an `Idempotency-Key` sent before with this body found its job.",
        "schema": {"type": "string", "enum": ["true"]},
    },
    "ContentDisposition": {
        "description": 'CSV only: `attachment; filename="...csv"`.',
        "schema": {"type": "string"},
    },
}
