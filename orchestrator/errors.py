"""The error tree, and the one place where any failure becomes an answer.

Every error answered is an :class:`ApiError` with the code and status of the error table in
``docs/contract.md``. The tree has five branches, and the branch decides whether a failed call is
worth another try (``retryable``, a class attribute set once on each path from the root, never
switched by a subclass; every downstream call is a pure computation, so repeating one is safe: what
varies is whether a repeat can go differently)::

    ApiError
      RequestError        4xx: the request cannot be answered as sent       not retried
      InternalError       500: a bug of ours                                not retried
      DownstreamError     a service behind us failed (details.service)
        ServiceUnavailable  503: refused, dropped, or said so               retried
        ServiceTimeout      504: no answer within its timeout               retried
        ExternalApiError    502: an answer outside the service's contract
          BrokenAnswer        a 5xx, not its JSON at all, a body cut off    retried
          ContractBreach      well-formed but wrong: it would say it again  not retried
      Refused             503, Retry-After: refused here, before any call  not retried
        CircuitOpen, BulkheadFull                  protecting a service
        Overloaded, OverClientShare, ShuttingDown  protecting the orchestrator
      DeadlinePassed      504: the orchestrator's own deadline passed       not retried

Four data-driven tables map what lower layers raise:

* :data:`CLIENT_ERRORS`: what the HTTP client raises while calling a service (refused, reset,
  stalled) -> our error naming the service, used by :func:`from_client_exception`;
* :data:`SERVICE_CODES`: a code in a service's error envelope that passes through with our status
  (:data:`SERVICE_MESSAGES` holds our words for them), used by :func:`from_service_error`;
* :data:`FRAMEWORK_ERRORS`: the status of aiohttp's own HTTP errors (404, 405, 413, ...);
* :data:`PARSER_ERRORS`: what aiohttp's HTTP parser rejects before any handler runs.

:func:`to_api_error` turns *any* exception into the error to answer; it alone decides what is
INTERNAL_ERROR. The middleware, the event stream and the call tracker all go through it.

This module is the bottom of the house: it imports nothing of the orchestrator. The envelope these
errors are answered with is built in ``schemas/responses.py`` (:func:`error_envelope`), and the two
exceptions of the transport's own reading live here, below the transport that raises them.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any, ClassVar

import aiohttp
from aiohttp.http_exceptions import HttpProcessingError, LineTooLong
from aiohttp.web_exceptions import HTTPException

#: ``details.service`` of what the orchestrator refuses or cuts short itself, no service involved.
ORCHESTRATOR = "orchestrator"


class ApiError(Exception):
    """An error answered to the caller as ``{"success": false, "error": {code, message, details}}``.

    The root only: each branch below says its ``code``, ``status`` and ``retryable``."""

    code: ClassVar[str]
    status: ClassVar[int]
    #: Whether the call that failed this way may succeed if made again: the branch's to say.
    retryable: ClassVar[bool]
    #: Seconds after which the caller may try again, answered as ``Retry-After`` when set.
    retry_after_s: float | None = None

    def __init__(self, message: str, details: dict[str, Any] | None = None) -> None:
        if not hasattr(self, "retryable"):  # ApiError, DownstreamError, ExternalApiError
            raise TypeError(f"{type(self).__name__} is a branch of the tree: raise one of its kinds")
        super().__init__(message)
        self.message = message
        self.details = details or {}


# --- the caller's request -------------------------------------------------------------------------


class RequestError(ApiError):
    """The request cannot be answered as it was sent (a 4xx): the same request fails the same way."""

    retryable = False


class InvalidRequest(RequestError):
    code, status = "INVALID_REQUEST", 400


class InvalidTicker(RequestError):
    code, status = "INVALID_TICKER", 400


class InvalidDateRange(RequestError):
    code, status = "INVALID_DATE_RANGE", 400


class InsufficientData(RequestError):
    code, status = "INSUFFICIENT_DATA", 400


class StrategyNotFound(RequestError):
    code, status = "STRATEGY_NOT_FOUND", 400


class PayloadTooLarge(RequestError):
    code, status = "PAYLOAD_TOO_LARGE", 413


class UnsupportedMediaType(RequestError):
    code, status = "UNSUPPORTED_MEDIA_TYPE", 415


class NotFound(RequestError):
    code, status = "NOT_FOUND", 404


class MethodNotAllowed(RequestError):
    code, status = "METHOD_NOT_ALLOWED", 405


class Forbidden(RequestError):
    """A browser's cross-origin request from an origin not allowed to call us."""

    code, status = "FORBIDDEN", 403


class RequestTimeout(RequestError):
    """The client took too long to send its headers or its body."""

    code, status = "REQUEST_TIMEOUT", 408


class LengthRequired(RequestError):
    code, status = "LENGTH_REQUIRED", 411


class HeadersTooLarge(RequestError):
    """The request's first line or headers are longer, or more, than we read."""

    code, status = "HEADERS_TOO_LARGE", 431


class TooManyJobs(RequestError):
    """A client address has as many jobs queued or running as one may (``JOBS__MAX_PER_CLIENT``)."""

    code, status = "TOO_MANY_JOBS", 429

    def __init__(self, limit: int) -> None:
        message = f"This address has {limit} jobs queued or running, the most it may; wait for one to end"
        super().__init__(message, {"max_per_client": limit})


class IdempotencyKeyReused(RequestError):
    """An ``Idempotency-Key`` already used with another body."""

    code, status = "IDEMPOTENCY_KEY_REUSED", 422

    def __init__(self) -> None:
        super().__init__("This Idempotency-Key was sent before with another body; use a new key")


# --- ours -----------------------------------------------------------------------------------------


class InternalError(ApiError):
    """A bug of ours: logged with its stack, answered without it."""

    code, status = "INTERNAL_ERROR", 500
    retryable = False

    def __init__(self, message: str = "An unexpected error occurred; it has been logged") -> None:
        super().__init__(message)


# --- the services behind us -----------------------------------------------------------------------


class DownstreamError(ApiError):
    """A failure of one of the services behind us; ``details.service`` names it."""

    def __init__(self, service: str, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message, {"service": service, **(details or {})})
        self.service = service


class ServiceUnavailable(DownstreamError):
    """Refused or dropped the connection, or said it is unavailable: another try may find it up."""

    code, status = "SERVICE_UNAVAILABLE", 503
    retryable = True


class ServiceTimeout(DownstreamError):
    """No answer in time: another try may be quicker."""

    code, status = "SERVICE_TIMEOUT", 504
    retryable = True

    def __init__(self, service: str, timeout_s: float, details: dict[str, Any] | None = None) -> None:
        message = f"The {service} service did not answer within {timeout_s:g} s"
        super().__init__(service, message, {"timeout_s": timeout_s, **(details or {})})


class ExternalApiError(DownstreamError):
    """An answer outside the service's contract; which kind decides whether to try again."""

    code, status = "EXTERNAL_API_ERROR", 502

    def __init__(self, service: str, status: int | None, message: str, **details: Any) -> None:
        super().__init__(service, message, {"status": status, **details})


class BrokenAnswer(ExternalApiError):
    """The service failed (a 5xx) or what came back is not its JSON at all (a proxy's HTML page, a
    truncated body): another try may go differently."""

    retryable = True


class ContractBreach(ExternalApiError):
    """A well-formed answer that breaks the contract, or the service saying our request was wrong
    (a 4xx, a redirect, an answer too large or compressed): it would say the same again."""

    retryable = False


# --- refused here, before any call ----------------------------------------------------------------


class Refused(ApiError):
    """Refused here, before any call: the orchestrator protects itself or a service behind it.

    Never retried inside the orchestrator (that would add load where there is already too much);
    the answer carries ``Retry-After`` so the caller knows when to come back. ``details.service``
    names what is protected: a service, or :data:`ORCHESTRATOR`.
    """

    code, status = "SERVICE_UNAVAILABLE", 503
    retryable = False

    def __init__(
        self, service: str, message: str, retry_after_s: float, details: dict[str, Any] | None = None
    ) -> None:
        # In details too: a streamed answer's error event has no headers to carry Retry-After.
        details = {"service": service, **(details or {}), "retry_after_s": round(retry_after_s, 3)}
        super().__init__(message, details)
        self.retry_after_s = retry_after_s


class CircuitOpen(Refused):
    """The service's circuit breaker is open: it has been failing, so it is not called for now."""

    def __init__(self, service: str, retry_after_s: float) -> None:
        message = f"The {service} service is failing; calls to it are paused for now"
        super().__init__(service, message, retry_after_s, {"circuit": "open"})


class BulkheadFull(Refused):
    """As many calls to the service are in flight as it is allowed."""

    def __init__(self, service: str, limit: int, retry_after_s: float = 1.0) -> None:
        message = f"The {service} service has {limit} calls in flight already; try again shortly"
        super().__init__(service, message, retry_after_s, {"bulkhead": "full", "max_in_flight": limit})


class Overloaded(Refused):
    """The orchestrator has as many backtests in flight as it admits now."""

    def __init__(self, limit: int, retry_after_s: float) -> None:
        message = f"The orchestrator is at its limit of {limit} backtests in flight; try again shortly"
        super().__init__(ORCHESTRATOR, message, retry_after_s, {"overloaded": True, "limit": limit})


class OverClientShare(Refused):
    """One client address holds as many connections (or, through a trusted proxy, requests in
    flight) as any one address may: ``EDGE__MAX_CONNECTIONS_PER_CLIENT`` or ``..._PER_PROXY``."""

    def __init__(self, limit: int, counted: str, retry_after_s: float = 1.0) -> None:
        message = f"Too many {counted} from one address (at most {limit} at once); try again shortly"
        details = {"client_limit": limit, "counted": counted}
        super().__init__(ORCHESTRATOR, message, retry_after_s, details)


class ShuttingDown(Refused):
    """The orchestrator is draining before it stops: no new backtests, and the last ones cut short."""

    def __init__(self, retry_after_s: float = 1.0) -> None:
        message = "The orchestrator is shutting down; try again shortly"
        super().__init__(ORCHESTRATOR, message, retry_after_s, {"draining": True})


# --- the orchestrator's own deadline --------------------------------------------------------------


class DeadlinePassed(ApiError):
    """The time the orchestrator gave the work (a backtest's deadline, a sweep's, a walk-forward's)
    is spent: none is left for another try.

    ``details.service`` names the oldest call still running when it passed (``pending`` lists the
    stages still running), or :data:`ORCHESTRATOR` when none was."""

    code, status = "SERVICE_TIMEOUT", 504
    retryable = False

    def __init__(
        self, deadline_s: float, service: str = ORCHESTRATOR, pending: list[str] | None = None
    ) -> None:
        message = f"The {service} service did not answer within {deadline_s:g} s"
        details: dict[str, Any] = {"service": service, "timeout_s": deadline_s, "deadline": True}
        if pending is not None:
            details["pending"] = pending
        super().__init__(message, details)


# --- what a service says --------------------------------------------------------------------------

#: A service's error code in this table passes through with our status. INTERNAL_ERROR is not in it:
#: that code means a bug in the orchestrator, so a service's own internal error is a 502.
SERVICE_CODES: dict[str, type[ApiError]] = {
    cls.code: cls
    for cls in (
        InvalidRequest,
        InvalidTicker,
        InvalidDateRange,
        InsufficientData,
        StrategyNotFound,
        PayloadTooLarge,
        UnsupportedMediaType,
        NotFound,
        MethodNotAllowed,
    )
}

#: What we say when a service answers with one of those codes: our words, never the service's.
SERVICE_MESSAGES: dict[str, str] = {
    InvalidTicker.code: "No such ticker",
    InvalidDateRange.code: "The {service} service cannot serve this date range",
    InsufficientData.code: "Not enough data for this backtest",
    StrategyNotFound.code: "No such strategy",
    InvalidRequest.code: "The {service} service rejected the request",
}

#: A service's detail is relayed only if its key is a short identifier and its value a number, a
#: boolean, or a short string of plain characters (a ticker, a date, a field name): never a stack
#: trace, a URL or a query. At most this many.
_DETAIL_KEY = re.compile(r"[a-z][a-z0-9_]{0,39}")
_DETAIL_TEXT = re.compile(r"[A-Za-z0-9 ._:^=,;-]{1,60}")
_MAX_DETAILS = 8


def sanitized(details: Any) -> dict[str, Any]:
    """A bounded summary of a service's ``details`` that is safe to show our callers."""
    summary: dict[str, Any] = {}
    for key, value in details.items() if isinstance(details, dict) else ():
        if len(summary) == _MAX_DETAILS:
            break
        if isinstance(key, str) and _DETAIL_KEY.fullmatch(key) and key != "service" and _plain(value):
            summary[key] = value
    return summary


def _plain(value: Any) -> bool:
    if isinstance(value, bool):
        return True
    if isinstance(value, int | float):
        return math.isfinite(value)
    return isinstance(value, str) and _DETAIL_TEXT.fullmatch(value) is not None


def from_service_error(service: str, status: int, error: dict[str, Any]) -> ApiError:
    """Map the ``error`` object of a service's envelope, answered with HTTP ``status``, to our tree.

    The service is not trusted: our message, its code where the table passes it through, a
    sanitised summary of its details, and ``details.service`` always ours."""
    code = error.get("code")
    details = {**sanitized(error.get("details")), "service": service}
    if code in SERVICE_CODES:
        message = SERVICE_MESSAGES.get(code, "The {service} service answered {code}")
        return SERVICE_CODES[code](message.format(service=service, code=code), details)
    if code == ServiceUnavailable.code:
        unavailable = ServiceUnavailable(service, f"The {service} service is unavailable", details)
        after = details.get("retry_after")  # e.g. market data rate limited by its source
        if isinstance(after, int | float) and not isinstance(after, bool) and after > 0:
            unavailable.retry_after_s = float(after)  # retries wait that long; the caller gets Retry-After
        return unavailable
    if code == ServiceTimeout.code:
        timeout_s = details.get("timeout_s")
        return ServiceTimeout(service, timeout_s if isinstance(timeout_s, int | float) else 0.0, details)
    shown = code if isinstance(code, str) and _SERVICE_CODE.fullmatch(code) else None
    kind = BrokenAnswer if status >= 500 else ContractBreach  # a 5xx: the service itself failed
    return kind(
        service,
        status,
        f"The {service} service failed with {shown or 'an error of its own'}",
        service_code=shown,
    )


_SERVICE_CODE = re.compile(r"[A-Z][A-Z0-9_]{0,39}")


# --- what the HTTP client raises ------------------------------------------------------------------


class AnswerTooLarge(aiohttp.ClientPayloadError):
    """A service's answer ran past the size we read; reading stopped there (raised by the transport)."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"answer over {limit} bytes")
        self.limit = limit


class CompressedAnswer(aiohttp.ClientPayloadError):
    """A service answered with a ``Content-Encoding`` we did not ask for; it was not read (raised by
    the transport)."""

    def __init__(self) -> None:
        super().__init__("a compressed answer, not asked for")


ClientErrorFactory = Callable[[str, float], ApiError]
ExceptionKinds = type[BaseException] | tuple[type[BaseException], ...]

#: Checked in order, subclasses before their bases (a ServerTimeoutError is also a connection error,
#: a ClientConnectorError also an OSError); each row makes the error for ``(service, timeout_s)``.
CLIENT_ERRORS: tuple[tuple[ExceptionKinds, ClientErrorFactory], ...] = (
    (TimeoutError, lambda service, timeout_s: ServiceTimeout(service, timeout_s)),
    (
        aiohttp.ClientConnectorError,
        lambda service, _: ServiceUnavailable(service, f"The {service} service refused the connection"),
    ),
    (
        (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError),
        lambda service, _: ServiceUnavailable(service, f"The {service} service dropped the connection"),
    ),
    (
        AnswerTooLarge,
        lambda service, _: ContractBreach(service, None, f"The {service} service answered more than we read"),
    ),
    (
        CompressedAnswer,
        lambda service, _: ContractBreach(
            service, None, f"The {service} service answered compressed, which we do not ask for"
        ),
    ),
    (
        (aiohttp.ClientPayloadError, aiohttp.ClientResponseError),
        lambda service, _: BrokenAnswer(service, None, f"The {service} service sent a broken answer"),
    ),
    (
        aiohttp.ClientConnectionError,
        lambda service, _: ServiceUnavailable(service, f"The {service} service could not be reached"),
    ),
)


def from_client_exception(service: str, timeout_s: float, error: Exception) -> Exception:
    """Map what the HTTP layer raised while calling ``service``; our own errors pass unchanged.

    Anything not in :data:`CLIENT_ERRORS` is returned as it is, so that a bug surfaces as
    INTERNAL_ERROR with its stack logged rather than being blamed on the service.
    """
    if isinstance(error, ApiError):
        return error
    for kind, make in CLIENT_ERRORS:
        if isinstance(error, kind):
            return make(service, timeout_s)
    return error


# --- the framework's own HTTP errors, and the one function ---------------------------------------

#: aiohttp's HTTP errors by status, with the message we answer; any other status is a bug of ours.
FRAMEWORK_ERRORS: dict[int, tuple[type[ApiError], str]] = {
    400: (InvalidRequest, "The request could not be read"),
    403: (Forbidden, "This origin may not call the API"),
    404: (NotFound, "No such endpoint"),
    405: (MethodNotAllowed, "Method not allowed for this path"),
    408: (RequestTimeout, "The request took too long to arrive"),
    411: (LengthRequired, "Send the body with a Content-Length"),
    413: (PayloadTooLarge, "The request body is too large"),
    415: (UnsupportedMediaType, "Unsupported media type"),
    431: (HeadersTooLarge, "The request's headers are too large"),
}

#: What the HTTP parser rejects before any handler runs, checked in order. Our own words only: the
#: parser's messages quote the raw input back.
#: Each row: the parser's exception, a marker its message must hold ("" for any), ours.
PARSER_ERRORS: tuple[tuple[type[HttpProcessingError], str, type[ApiError], str], ...] = (
    (LineTooLong, "", HeadersTooLarge, "The request's first line or a header is too long"),
    (HttpProcessingError, "Too many headers", HeadersTooLarge, "The request has too many headers"),
    (HttpProcessingError, "", InvalidRequest, "The request is not valid HTTP"),
)


def to_api_error(error: BaseException) -> ApiError:
    """The error to answer for any exception: ours as it is, the framework's and the parser's by
    their kind, any other client error (4xx) as INVALID_REQUEST, and anything else as
    INTERNAL_ERROR (the caller logs its stack; the answer never shows it)."""
    if isinstance(error, ApiError):
        return error
    if isinstance(error, HttpProcessingError):
        said = str(error.message)
        error_class, message = next(
            (cls, text)
            for kind, marker, cls, text in PARSER_ERRORS
            if isinstance(error, kind) and marker in said
        )
        return error_class(message, {})
    if isinstance(error, HTTPException):
        allowed = getattr(error, "allowed_methods", None)
        return from_http_status(error.status, {"allowed": sorted(allowed)} if allowed else {})
    return InternalError()


def from_http_status(status: int, details: dict[str, Any] | None = None) -> ApiError:
    """The error for an HTTP status the framework produced: by the table, any other client error
    (4xx) as INVALID_REQUEST, anything else as INTERNAL_ERROR."""
    if status in FRAMEWORK_ERRORS:
        error_class, message = FRAMEWORK_ERRORS[status]
        return error_class(message, details or {})
    if 400 <= status < 500:
        return InvalidRequest(f"The request was refused (HTTP {status})", {})
    return InternalError()


def is_unexpected(error: BaseException) -> bool:
    """Whether ``error`` is a bug of ours, to be logged with its stack: it maps to INTERNAL_ERROR."""
    return not isinstance(error, ApiError) and isinstance(to_api_error(error), InternalError)
