"""The error tree's tables and the one function that maps any exception to an answer."""

from __future__ import annotations

import aiohttp
import pytest
from aiohttp import web
from aiohttp.client_reqrep import ConnectionKey

from orchestrator.clients.transport import AnswerTooLarge, CompressedAnswer
from orchestrator.errors import (
    CLIENT_ERRORS,
    FRAMEWORK_ERRORS,
    SERVICE_CODES,
    ExternalApiError,
    InternalError,
    InvalidTicker,
    NotFound,
    ServiceTimeout,
    ServiceUnavailable,
    from_client_exception,
    from_service_error,
    is_unexpected,
    to_api_error,
)

KEY = ConnectionKey("strategy.test", 80, False, True, None, None, None)


@pytest.mark.parametrize(
    ("raised", "code", "message"),
    [
        (TimeoutError(), "SERVICE_TIMEOUT", "did not answer within 2 s"),
        (aiohttp.ServerTimeoutError(), "SERVICE_TIMEOUT", "did not answer within 2 s"),
        (
            aiohttp.ClientConnectorError(KEY, ConnectionRefusedError(111, "refused")),
            "SERVICE_UNAVAILABLE",
            "refused",
        ),
        (aiohttp.ServerDisconnectedError(), "SERVICE_UNAVAILABLE", "dropped the connection"),
        (aiohttp.ClientOSError(104, "reset"), "SERVICE_UNAVAILABLE", "dropped the connection"),
        (aiohttp.ClientPayloadError("truncated"), "EXTERNAL_API_ERROR", "broken answer"),
        (CompressedAnswer(), "EXTERNAL_API_ERROR", "answered compressed"),
        (aiohttp.ClientConnectionError(), "SERVICE_UNAVAILABLE", "could not be reached"),
    ],
    ids=[
        "timeout",
        "socket-timeout",
        "refused",
        "disconnected",
        "reset",
        "truncated",
        "compressed",
        "other-connection",
    ],
)
def test_client_exceptions_name_the_service(raised, code, message):
    error = from_client_exception("strategy", 2.0, raised)
    assert (error.code, error.details["service"]) == (code, "strategy")
    assert message in error.message


def test_every_client_exception_but_an_oversized_or_compressed_answer_is_worth_another_try():
    """Timeouts, refused or reset connections and broken bodies may all go differently next time;
    an answer too large to read will be as large again, and one compressed, compressed again."""
    for kinds, make in CLIENT_ERRORS:
        assert make("metrics", 1.0).retryable is (kinds not in (AnswerTooLarge, CompressedAnswer)), kinds


def test_an_exception_the_client_table_does_not_know_is_left_as_it_is():
    bug = KeyError("ours")
    assert from_client_exception("strategy", 2.0, bug) is bug


def test_our_own_errors_pass_the_client_table_unchanged():
    ours = InvalidTicker("no such ticker")
    assert from_client_exception("market_data", 2.0, ours) is ours


@pytest.mark.parametrize("code", sorted(SERVICE_CODES))
def test_a_service_code_in_our_table_passes_through_in_our_words_and_is_not_retried(code):
    error = from_service_error("market_data", 400, {"code": code, "message": "said so", "details": {"x": 1}})
    assert (error.code, error.details, error.retryable) == (code, {"x": 1, "service": "market_data"}, False)
    assert "said so" not in error.message


@pytest.mark.parametrize(("status", "retryable"), [(500, True), (503, True), (200, False), (422, False)])
def test_a_service_code_not_in_our_table_is_a_502_retried_only_after_a_5xx(status, retryable):
    error = from_service_error("portfolio", status, {"code": "INTERNAL_ERROR", "message": "boom"})
    assert isinstance(error, ExternalApiError)
    assert (error.details["service_code"], error.details["status"], error.retryable) == (
        "INTERNAL_ERROR",
        status,
        retryable,
    )


def test_a_service_saying_it_is_unavailable_or_timed_out_is_retryable():
    unavailable = from_service_error("metrics", 503, {"code": "SERVICE_UNAVAILABLE"})
    timed_out = from_service_error("metrics", 504, {"code": "SERVICE_TIMEOUT", "details": {"timeout_s": 3}})
    assert (type(unavailable), unavailable.retryable) == (ServiceUnavailable, True)
    assert (type(timed_out), timed_out.retryable, timed_out.details["timeout_s"]) == (ServiceTimeout, True, 3)


@pytest.mark.parametrize(
    ("framework_error", "code", "status"),
    [
        (web.HTTPBadRequest(), "INVALID_REQUEST", 400),
        (web.HTTPNotFound(), "NOT_FOUND", 404),
        (web.HTTPMethodNotAllowed("GET", ["POST"]), "METHOD_NOT_ALLOWED", 405),
        (web.HTTPRequestEntityTooLarge(100, 200), "PAYLOAD_TOO_LARGE", 413),
        (web.HTTPUnsupportedMediaType(), "UNSUPPORTED_MEDIA_TYPE", 415),
    ],
)
def test_the_frameworks_errors_map_by_status(framework_error, code, status):
    error = to_api_error(framework_error)
    assert (error.code, error.status) == (code, status)
    assert set(FRAMEWORK_ERRORS) >= {status}


def test_method_not_allowed_lists_the_allowed_methods():
    assert to_api_error(web.HTTPMethodNotAllowed("GET", ["POST", "OPTIONS"])).details == {
        "allowed": ["OPTIONS", "POST"]
    }


def test_our_error_is_answered_as_it_is():
    ours = NotFound("nothing here")
    assert to_api_error(ours) is ours and not is_unexpected(ours)


@pytest.mark.parametrize("bug", [ZeroDivisionError("secret"), KeyError("k"), web.HTTPInternalServerError()])
def test_anything_else_is_an_internal_error_without_its_text(bug):
    error = to_api_error(bug)
    assert isinstance(error, InternalError) and "secret" not in error.message
    assert is_unexpected(bug)


def test_the_envelope_is_built_from_the_error_models():
    envelope = ServiceTimeout("metrics", 2.5).envelope().model_dump()
    assert envelope == {
        "success": False,
        "error": {
            "code": "SERVICE_TIMEOUT",
            "message": "The metrics service did not answer within 2.5 s",
            "details": {"service": "metrics", "timeout_s": 2.5},
        },
    }
