"""A service client over a transport handed to it: what it sends, what it reads, when it gives up.

These pin one attempt of one call (no retries, no hedges); ``test_resilience.py`` has the rest.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import aiohttp
import orjson
import pytest
import reactivex
from reactivex import Observable
from reactivex.abc import SchedulerBase
from reactivex.scheduler.eventloop import AsyncIOScheduler
from reactivex.testing import ReactiveTest, TestScheduler

import fakes
from orchestrator.clients.context import CallContext
from orchestrator.clients.health import check_health
from orchestrator.clients.service import ServiceClient
from orchestrator.clients.transport import Answer, Request
from orchestrator.errors import ApiError
from orchestrator.resilience.clock import clock_of
from orchestrator.resilience.deadline import Deadline
from orchestrator.resilience.policy import ServicePolicy
from orchestrator.schemas.downstream import DIVIDENDS
from orchestrator.settings import Settings
from tests.virtual import PLAIN


class Transport:
    """Answers every request with ``answer()``; keeps what was sent."""

    def __init__(self, answer: Callable[[], Observable[Answer]]) -> None:
        self.answer, self.sent = answer, list[Request]()

    def send(self, request: Request) -> Observable[Answer]:
        self.sent.append(request)
        return self.answer()


def client(transport: Transport, scheduler: SchedulerBase, timeout_s: float = 30) -> ServiceClient:
    """The market-data client with one attempt per call and no hedging: the call alone."""
    settings = Settings(_env_file=None, timeout={"attempt_s": timeout_s}, **PLAIN)
    policy = ServicePolicy.for_service("market_data", settings.policy("market_data"), clock_of(scheduler))
    return ServiceClient("market_data", "http://market-data.test", transport, scheduler, policy)


def context(scheduler: SchedulerBase, request_id: str = "rid-7", budget_s: float = 1000) -> CallContext:
    return CallContext(request_id, Deadline(budget_s, clock_of(scheduler)))


def answered(status: int, body: Any) -> Callable[[], Observable[Answer]]:
    raw = body if isinstance(body, bytes) else orjson.dumps(body)
    return lambda: reactivex.just(Answer(status, raw))


def outcome(transport: Transport) -> list[Any]:
    """The messages of one POST of ``/dividends``, run on virtual time."""
    scheduler = TestScheduler()
    call = client(transport, scheduler).post("/dividends", {"ticker": "TQQQ"}, DIVIDENDS, context(scheduler))
    return scheduler.start(lambda: call).messages


def test_posts_the_body_as_json_with_the_request_id():
    transport = Transport(answered(200, fakes.dividends()))
    outcome(transport)
    [request] = transport.sent
    assert (request.method, request.url) == ("POST", "http://market-data.test/dividends")
    assert orjson.loads(request.body) == {"ticker": "TQQQ"}
    assert {name: value for name, value in request.headers.items() if name != "traceparent"} == {
        "Content-Type": "application/json",
        "X-Request-ID": "rid-7",
        "X-Request-Timeout-Ms": "30000",  # what the service has for this attempt
    }


def test_emits_the_answers_data_as_the_model():
    [value, completed] = outcome(Transport(answered(200, fakes.dividends())))
    assert value.value.value.items[0]["amount_per_share"] == 0.5
    assert completed.value.kind == "C"


def test_no_answer_within_the_timeout_is_service_timeout_and_the_exchange_is_dropped():
    scheduler = TestScheduler()
    exchange = scheduler.create_cold_observable(ReactiveTest.on_next(50, Answer(200, b"{}")))
    call = client(Transport(lambda: exchange), scheduler, timeout_s=30).post(
        "/prices", {}, DIVIDENDS, context(scheduler)
    )
    [failure] = scheduler.start(lambda: call).messages
    assert (failure.time, failure.value.exception.code) == (230, "SERVICE_TIMEOUT")
    assert failure.value.exception.details == {"service": "market_data", "timeout_s": 30}
    assert exchange.subscriptions == [ReactiveTest.subscribe(200, 230)]


def test_what_the_transport_raises_is_mapped_naming_the_service():
    [failure] = outcome(Transport(lambda: reactivex.throw(aiohttp.ServerDisconnectedError())))
    error = failure.value.exception
    assert (error.code, error.details["service"], error.retryable) == (
        "SERVICE_UNAVAILABLE",
        "market_data",
        True,
    )


@pytest.mark.parametrize(
    ("status", "body", "code", "retryable"),
    [
        (500, b"<html>Internal Server Error</html>", "EXTERNAL_API_ERROR", True),
        (502, b"", "EXTERNAL_API_ERROR", True),
        (200, b"<html>a proxy's page</html>", "EXTERNAL_API_ERROR", True),
        (500, fakes.error_envelope("INTERNAL_ERROR", "boom"), "EXTERNAL_API_ERROR", True),
        (404, {"detail": "Not Found"}, "EXTERNAL_API_ERROR", False),
        (422, {"detail": [{"loc": ["body"], "msg": "field required"}]}, "EXTERNAL_API_ERROR", False),
        (200, {"success": True, "data": {"dividends": "none"}}, "EXTERNAL_API_ERROR", False),
        (200, {"unexpected": True}, "EXTERNAL_API_ERROR", False),
        (404, {"detail": fakes.error_envelope("INVALID_TICKER", "no such ticker")}, "INVALID_TICKER", False),
        (200, fakes.error_envelope("INVALID_REQUEST", "bad input"), "INVALID_REQUEST", False),
    ],
    ids=[
        "5xx-html",
        "5xx-empty",
        "200-not-json",
        "5xx-envelope",
        "404-detail-string",
        "422-detail-list",
        "breaks-the-model",
        "not-an-envelope",
        "own-bad-input-nested",
        "own-bad-input-in-a-200",
    ],
)
def test_each_kind_of_failed_answer_says_whether_another_try_could_help(status, body, code, retryable):
    [failure] = outcome(Transport(answered(status, body)))
    error: ApiError = failure.value.exception
    assert (error.code, error.retryable) == (code, retryable)


# --- health ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "state"),
    [
        (answered(200, {"status": "healthy", "service": "market-data"}), "healthy"),
        (answered(200, {"status": "starting"}), "unhealthy"),
        (answered(503, b"<html>down</html>"), "unhealthy"),
        (lambda: reactivex.throw(aiohttp.ClientConnectionError()), "unreachable"),
        (lambda: reactivex.never(), "timeout"),
    ],
)
async def test_health_states(answer, state):
    transport = Transport(answer)
    scheduler = AsyncIOScheduler(asyncio.get_running_loop())
    assert await check_health(transport, "http://market-data.test/health", 0.05, scheduler) == state
    assert [(request.method, request.url) for request in transport.sent] == [
        ("GET", "http://market-data.test/health")
    ]
