"""The error tree: every failure the API can answer, and the one place lower layers map into it.

Each class carries the code and status of CONTRACTS.md's error table. Handlers raise these; the
error middleware renders them as the envelope. :func:`from_exception` maps what the HTTP client
raises (connection refused, reset, timeout) and :func:`from_service_error` maps an error envelope
a service sent, so no other module needs to know aiohttp's exception hierarchy.
"""

from __future__ import annotations

import asyncio
from typing import Any, ClassVar

import aiohttp


class ApiError(Exception):
    """An error answered to the caller as ``{"success": false, "error": {code, message, details}}``."""

    code: ClassVar[str] = "INTERNAL_ERROR"
    status: ClassVar[int] = 500

    def __init__(self, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or {}

    def envelope(self) -> dict[str, Any]:
        return {
            "success": False,
            "error": {"code": self.code, "message": self.message, "details": self.details},
        }


class InvalidRequest(ApiError):
    code, status = "INVALID_REQUEST", 400


class InvalidTicker(ApiError):
    code, status = "INVALID_TICKER", 400


class InvalidDateRange(ApiError):
    code, status = "INVALID_DATE_RANGE", 400


class InsufficientData(ApiError):
    code, status = "INSUFFICIENT_DATA", 400


class StrategyNotFound(ApiError):
    code, status = "STRATEGY_NOT_FOUND", 400


class PayloadTooLarge(ApiError):
    code, status = "PAYLOAD_TOO_LARGE", 413


class UnsupportedMediaType(ApiError):
    code, status = "UNSUPPORTED_MEDIA_TYPE", 415


class NotFound(ApiError):
    code, status = "NOT_FOUND", 404


class MethodNotAllowed(ApiError):
    code, status = "METHOD_NOT_ALLOWED", 405


class InternalError(ApiError):
    code, status = "INTERNAL_ERROR", 500


class DownstreamError(ApiError):
    """A failure of one of the services behind us; ``details.service`` names it."""

    def __init__(self, service: str, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message, {"service": service, **(details or {})})
        self.service = service


class ServiceUnavailable(DownstreamError):
    code, status = "SERVICE_UNAVAILABLE", 503


class ServiceTimeout(DownstreamError):
    code, status = "SERVICE_TIMEOUT", 504

    def __init__(self, service: str, timeout_s: float, details: dict[str, Any] | None = None) -> None:
        message = f"The {service} service did not answer within {timeout_s:g} s"
        super().__init__(service, message, {"timeout_s": timeout_s, **(details or {})})


class ExternalApiError(DownstreamError):
    code, status = "EXTERNAL_API_ERROR", 502

    def __init__(self, service: str, status: int | None, message: str, **details: Any) -> None:
        super().__init__(service, message, {"status": status, **details})


# A service's error code in this table passes through with our status. INTERNAL_ERROR is not in
# it: that code means a bug in the orchestrator, so a service's own internal error is a 502.
PASSTHROUGH: dict[str, type[ApiError]] = {
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


_MAX_SERVICE_MESSAGE = 300


def from_service_error(service: str, status: int, error: dict[str, Any]) -> ApiError:
    """Map the ``error`` object of a service's envelope to our tree."""
    code = error.get("code")
    message = error.get("message") if isinstance(error.get("message"), str) else None
    details = error.get("details") if isinstance(error.get("details"), dict) else {}
    if code in PASSTHROUGH:
        return PASSTHROUGH[code](message or f"The {service} service answered {code}", {**details})
    if code == ServiceUnavailable.code:
        return ServiceUnavailable(service, message or f"The {service} service is unavailable", details)
    if code == ServiceTimeout.code:
        timeout_s = details.get("timeout_s")
        return ServiceTimeout(service, timeout_s if isinstance(timeout_s, int | float) else 0.0, details)
    return ExternalApiError(
        service,
        status,
        f"The {service} service failed with {code or 'an unnamed error'}",
        service_code=code,
        service_message=(message or "")[:_MAX_SERVICE_MESSAGE],
    )


def from_exception(service: str, timeout_s: float, error: Exception) -> Exception:
    """Map what the HTTP layer raised while calling ``service``; our own errors pass unchanged.

    Anything unrecognised is returned as is, so it surfaces as INTERNAL_ERROR with its stack logged.
    """
    if isinstance(error, ApiError):
        return error
    if isinstance(error, aiohttp.ServerTimeoutError | asyncio.TimeoutError):
        return ServiceTimeout(service, timeout_s)
    if isinstance(error, aiohttp.ClientConnectorError):
        return ServiceUnavailable(service, f"The {service} service refused the connection")
    if isinstance(error, aiohttp.ServerDisconnectedError | aiohttp.ClientOSError):
        return ServiceUnavailable(service, f"The {service} service dropped the connection")
    if isinstance(error, aiohttp.ClientPayloadError | aiohttp.ClientResponseError):
        return ExternalApiError(
            service, getattr(error, "status", None), f"The {service} service sent a broken answer"
        )
    if isinstance(error, aiohttp.ClientConnectionError):
        return ServiceUnavailable(service, f"The {service} service could not be reached")
    return error
