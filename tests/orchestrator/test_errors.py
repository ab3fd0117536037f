"""The error tree, its tables, and the one function that maps any exception to an answer."""

from __future__ import annotations

import re

import aiohttp
import pytest
from aiohttp import web
from aiohttp.client_reqrep import ConnectionKey

from orchestrator import errors
from orchestrator.errors import (
    CLIENT_ERRORS,
    FRAMEWORK_ERRORS,
    ORCHESTRATOR,
    SERVICE_CODES,
    AnswerTooLarge,
    ApiError,
    BrokenAnswer,
    BulkheadFull,
    CircuitOpen,
    CompressedAnswer,
    ContractBreach,
    DeadlinePassed,
    DownstreamError,
    ExternalApiError,
    InternalError,
    InvalidTicker,
    NotFound,
    OverClientShare,
    Overloaded,
    Refused,
    RequestError,
    ServiceTimeout,
    ServiceUnavailable,
    ShuttingDown,
    from_client_exception,
    from_service_error,
    is_unexpected,
    to_api_error,
)
from orchestrator.schemas.responses import error_envelope

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
    envelope = error_envelope(ServiceTimeout("metrics", 2.5)).model_dump()
    assert envelope == {
        "success": False,
        "error": {
            "code": "SERVICE_TIMEOUT",
            "message": "The metrics service did not answer within 2.5 s",
            "details": {"service": "metrics", "timeout_s": 2.5},
        },
    }


# --- the tree -------------------------------------------------------------------------------------


def every_error_class() -> list[type[ApiError]]:
    found, waiting = [], [ApiError]
    while waiting:
        cls = waiting.pop()
        found.append(cls)
        waiting.extend(cls.__subclasses__())
    return found


def setters_of_retryable(cls: type[ApiError]) -> list[type]:
    """The classes on ``cls``'s path from the root that set ``retryable``."""
    return [ancestor for ancestor in cls.__mro__ if "retryable" in vars(ancestor)]


#: Where ``retryable`` is decided, and what it is: the branches a newcomer draws.
BRANCHES: dict[type[ApiError], bool] = {
    RequestError: False,
    InternalError: False,
    ServiceUnavailable: True,
    ServiceTimeout: True,
    BrokenAnswer: True,
    ContractBreach: False,
    Refused: False,
    DeadlinePassed: False,
}


@pytest.mark.parametrize("branch", list(BRANCHES), ids=lambda branch: branch.__name__)
def test_the_branch_decides_whether_its_errors_are_retried(branch):
    below = [cls for cls in every_error_class() if issubclass(cls, branch)]
    assert {cls.__name__: cls.retryable for cls in below} == dict.fromkeys(
        (cls.__name__ for cls in below), BRANCHES[branch]
    )


def test_retryable_is_set_once_on_every_path_and_never_switched_below_it():
    """Only the branch says it: a subclass that set it again could switch it, as Refused once did."""
    leaves = [cls for cls in every_error_class() if not cls.__subclasses__()]
    assert {
        cls.__name__: setters_of_retryable(cls) for cls in leaves if len(setters_of_retryable(cls)) != 1
    } == {}
    assert all(setters_of_retryable(cls)[0] in BRANCHES for cls in leaves)


def test_every_error_answered_has_a_code_and_a_status():
    leaves = [cls for cls in every_error_class() if not cls.__subclasses__()]
    assert [cls.__name__ for cls in leaves if not (hasattr(cls, "code") and hasattr(cls, "status"))] == []


@pytest.mark.parametrize(
    "make",
    [
        lambda: ApiError("which?"),
        lambda: DownstreamError("metrics", "which?"),
        lambda: ExternalApiError("metrics", 500, "which?", retryable=True),
    ],
    ids=["root", "downstream", "external"],
)
def test_a_branch_that_leaves_retryable_to_its_kinds_cannot_be_raised_itself(make):
    with pytest.raises(TypeError, match="raise one of its kinds"):
        make()


def test_the_orchestrators_refusals_and_deadlines_are_not_downstream_failures():
    for cls in (Refused, DeadlinePassed):
        assert not issubclass(cls, DownstreamError)
        assert not issubclass(DownstreamError, cls)


#: Each refusal and deadline: its status, code and details.service, in one place.
REFUSALS_AND_DEADLINES = [
    (CircuitOpen("strategy", 2.5), 503, "SERVICE_UNAVAILABLE", "strategy", {"circuit": "open"}),
    (
        BulkheadFull("metrics", 4),
        503,
        "SERVICE_UNAVAILABLE",
        "metrics",
        {"bulkhead": "full", "max_in_flight": 4},
    ),
    (Overloaded(8, 1.5), 503, "SERVICE_UNAVAILABLE", ORCHESTRATOR, {"overloaded": True, "limit": 8}),
    (
        OverClientShare(128, "connections"),
        503,
        "SERVICE_UNAVAILABLE",
        ORCHESTRATOR,
        {"client_limit": 128, "counted": "connections"},
    ),
    (ShuttingDown(), 503, "SERVICE_UNAVAILABLE", ORCHESTRATOR, {"draining": True}),
    (DeadlinePassed(30.0), 504, "SERVICE_TIMEOUT", ORCHESTRATOR, {"deadline": True, "timeout_s": 30.0}),
    (
        DeadlinePassed(30.0, "strategy", ["signals"]),
        504,
        "SERVICE_TIMEOUT",
        "strategy",
        {"deadline": True, "timeout_s": 30.0, "pending": ["signals"]},
    ),
]


@pytest.mark.parametrize(
    ("error", "status", "code", "service", "said"),
    REFUSALS_AND_DEADLINES,
    ids=lambda value: type(value).__name__ if isinstance(value, ApiError) else None,
)
def test_each_refusal_and_deadline_is_answered_with_its_status_and_code(error, status, code, service, said):
    answer = to_api_error(error)
    assert (answer.status, answer.code, answer.details["service"], answer.retryable) == (
        status,
        code,
        service,
        False,
    )
    assert said.items() <= answer.details.items()


@pytest.mark.parametrize(
    "refusal", [error for error, *_ in REFUSALS_AND_DEADLINES if isinstance(error, Refused)]
)
def test_a_refusal_says_when_to_come_back_in_its_details_too(refusal):
    assert refusal.details["retry_after_s"] == round(refusal.retry_after_s, 3)


def test_a_deadline_says_no_time_is_left_rather_than_when_to_come_back():
    assert DeadlinePassed(30.0).retry_after_s is None


def test_the_orchestrators_deadline_is_worded_as_a_service_timeout_was():
    """The answer did not change when the deadline got a branch of its own (docs/contract.md)."""
    assert error_envelope(DeadlinePassed(2.5, "metrics", ["metrics"])).model_dump()["error"] == {
        "code": "SERVICE_TIMEOUT",
        "message": "The metrics service did not answer within 2.5 s",
        "details": {"service": "metrics", "timeout_s": 2.5, "deadline": True, "pending": ["metrics"]},
    }


NUMBERS = {3: "Three", 4: "Four", 5: "Five", 6: "Six"}


def test_the_module_docstring_names_and_counts_its_tables():
    doc = errors.__doc__
    tables = {
        name for name, value in vars(errors).items() if name.isupper() and isinstance(value, dict | tuple)
    }
    assert {name for name in tables if f":data:`{name}`" not in doc} == set()
    listed = re.findall(r"^\* :data:`(\w+)`", doc, re.MULTILINE)
    assert f"{NUMBERS[len(listed)]} data-driven tables" in doc
    assert set(listed) <= tables


def test_the_module_docstring_draws_every_class_of_the_tree():
    drawn = errors.__doc__.split("::", 1)[1].split("\n\n", 2)[1]
    assert {cls.__name__ for cls in every_error_class() if cls.__name__ not in drawn} <= {
        cls.__name__
        for cls in every_error_class()
        if issubclass(cls, RequestError) and cls is not RequestError
    }
