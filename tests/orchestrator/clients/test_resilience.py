"""A service client under its policy, on virtual time: retries, the budget, hedges, the breaker,
the bulkhead and the deadline, each pinned to the tick. Calls are subscribed at tick 200; every
backoff waits its longest (``MaxJitter``), so 5 ticks before the first retry and 10 before the second.
"""

from __future__ import annotations

from typing import Any

import orjson
import reactivex
from reactivex import Observable
from reactivex.testing import ReactiveTest, TestScheduler
from reactivex.testing.coldobservable import ColdObservable

import fakes
from orchestrator.clients.context import CallContext
from orchestrator.clients.service import ServiceClient
from orchestrator.clients.transport import Answer, Request
from orchestrator.resilience.clock import clock_of
from orchestrator.resilience.deadline import Deadline
from orchestrator.resilience.policy import ServicePolicy
from orchestrator.schemas.downstream import DIVIDENDS
from orchestrator.settings import Settings
from tests.virtual import MaxJitter

on_next, on_completed, on_error = ReactiveTest.on_next, ReactiveTest.on_completed, ReactiveTest.on_error
subscribe = ReactiveTest.subscribe

OK = Answer(200, orjson.dumps(fakes.dividends()))
BROKEN = Answer(502, b"<html>Bad gateway</html>")
NO_SUCH_TICKER = Answer(404, orjson.dumps(fakes.error_envelope("INVALID_TICKER", "no such ticker")))


def answer(after: int, what: Answer) -> list[Any]:
    return [on_next(after, what), on_completed(after)]


STALL: list[Any] = []


class Scripted:
    """A transport whose n-th exchange plays the n-th script (the last one repeats)."""

    def __init__(self, scheduler: TestScheduler, *scripts: list[Any]) -> None:
        self.scheduler, self.scripts = scheduler, list(scripts)
        self.exchanges: list[ColdObservable[Answer]] = []
        self.sent: list[Request] = []

    def send(self, request: Request) -> Observable[Answer]:
        script = self.scripts[min(len(self.exchanges), len(self.scripts) - 1)]
        exchange = self.scheduler.create_cold_observable(script)
        self.exchanges.append(exchange)
        self.sent.append(request)
        return exchange

    def subscriptions(self) -> list[Any]:
        return [subscription for exchange in self.exchanges for subscription in exchange.subscriptions]


def make_client(scheduler: TestScheduler, transport: Scripted, **settings: Any) -> ServiceClient:
    values = {
        "timeout": {"attempt_s": 100},
        "hedge": {"enabled": False},
        "retry": {"max_attempts": 3, "base_backoff_s": 5, "max_backoff_s": 50},
        **settings,
    }
    settings_ = Settings(_env_file=None, **values)
    policy = ServicePolicy.for_service(
        "market_data", settings_.policy("market_data"), clock_of(scheduler), rng=MaxJitter()
    )
    return ServiceClient("market_data", "http://market-data.test", transport, scheduler, policy)


def run(
    scheduler: TestScheduler, client: ServiceClient, budget: float = 1000, disposed: int = 1000
) -> tuple[list[Any], CallContext]:
    """One call, subscribed at 200, its backtest's deadline starting then."""
    context = CallContext("rid", Deadline(budget, clock_of(scheduler)))
    scheduler.schedule_absolute(200, lambda *_: context.deadline.start())
    call = client.post("/dividends", {"ticker": "TQQQ"}, DIVIDENDS, context)
    return scheduler.start(lambda: call, disposed=disposed).messages, context


def outcome(messages: list[Any]) -> tuple[float, str]:
    last = messages[-1] if messages[-1].value.kind != "C" else messages[-2]
    return last.time, last.value.exception.code if last.value.kind == "E" else "value"


# --- retries ---------------------------------------------------------------------------------------


def test_a_retryable_failure_is_tried_again_after_its_backoff():
    scheduler = TestScheduler()
    transport = Scripted(scheduler, answer(10, BROKEN), answer(10, BROKEN), answer(10, OK))
    messages, context = run(scheduler, make_client(scheduler, transport))
    # attempt 1 at 200, fails at 210, waits 5; attempt 2 at 215, fails at 225, waits 10; attempt 3 at 235
    assert transport.subscriptions() == [subscribe(200, 210), subscribe(215, 225), subscribe(235, 245)]
    assert outcome(messages) == (245, "value")
    assert context.stats.log_fields() == {"attempts": 3, "retries": {"market_data": 2}}


def test_at_most_max_attempts():
    scheduler = TestScheduler()
    transport = Scripted(scheduler, answer(10, BROKEN))
    messages, _ = run(scheduler, make_client(scheduler, transport))
    assert len(transport.subscriptions()) == 3
    assert outcome(messages) == (245, "EXTERNAL_API_ERROR")


def test_a_failure_not_worth_retrying_is_answered_at_once():
    scheduler = TestScheduler()
    transport = Scripted(scheduler, answer(10, NO_SUCH_TICKER), answer(10, OK))
    messages, _ = run(scheduler, make_client(scheduler, transport))
    assert len(transport.subscriptions()) == 1
    assert outcome(messages) == (210, "INVALID_TICKER")


def test_no_retry_whose_wait_would_outlast_the_deadline():
    scheduler = TestScheduler()
    transport = Scripted(scheduler, answer(10, BROKEN), answer(10, OK))
    messages, _ = run(scheduler, make_client(scheduler, transport), budget=14)  # 4 left at 210, backoff 5
    assert len(transport.subscriptions()) == 1
    assert outcome(messages) == (210, "EXTERNAL_API_ERROR")


def test_an_empty_budget_refuses_retries_and_says_so():
    scheduler = TestScheduler()
    transport = Scripted(scheduler, answer(10, BROKEN), answer(10, OK))
    client = make_client(scheduler, transport, retry_budget={"ratio": 0, "min_per_s": 0})
    _, context = run(scheduler, client)
    assert len(transport.subscriptions()) == 1
    assert context.stats.log_fields() == {"attempts": 1, "budget_exhausted": {"market_data": 1}}


# --- time ------------------------------------------------------------------------------------------


def test_each_attempt_gets_the_per_try_timeout_or_what_the_deadline_leaves():
    scheduler = TestScheduler()
    transport = Scripted(scheduler, STALL)
    client = make_client(scheduler, transport, timeout={"attempt_s": 40})
    messages, _ = run(scheduler, client, budget=100)
    # attempt 1: 200-240 (per-try 40); attempt 2: 245-285 (40); attempt 3: 295-300 (what is left: 5)
    assert transport.subscriptions() == [subscribe(200, 240), subscribe(245, 285), subscribe(295, 300)]
    assert [request.headers["X-Request-Timeout-Ms"] for request in transport.sent] == [
        "40000",
        "40000",
        "5000",
    ]
    time, code = outcome(messages)
    assert (time, code) == (300, "SERVICE_TIMEOUT")


def test_an_attempt_with_no_time_left_is_a_timeout_without_a_call():
    scheduler = TestScheduler()
    transport = Scripted(scheduler, answer(10, OK))
    context = CallContext("rid", Deadline(50, clock_of(scheduler)))
    scheduler.schedule_absolute(100, lambda *_: context.deadline.start())  # the backtest began at 100
    call = make_client(scheduler, transport).post("/d", {}, DIVIDENDS, context)
    [failure] = scheduler.start(lambda: call).messages  # the call comes at 200: 50 past the deadline
    assert transport.subscriptions() == []
    assert (failure.time, failure.value.exception.code, failure.value.exception.details["deadline"]) == (
        200,
        "SERVICE_TIMEOUT",
        True,
    )


# --- hedges ----------------------------------------------------------------------------------------


def hedged(scheduler: TestScheduler, transport: Scripted, **settings: Any) -> ServiceClient:
    """Hedging on, the service's recent answers all took 10 ticks: a copy goes out after 10."""
    client = make_client(
        scheduler, transport, hedge={"enabled": True, "floor_s": 0, "min_samples": 10}, **settings
    )
    for _ in range(20):
        client.policy.latency.record(10)
    return client


def test_a_call_slower_than_the_recent_p95_gets_a_copy_and_the_first_answer_wins():
    scheduler = TestScheduler()
    transport = Scripted(scheduler, STALL, answer(10, OK))
    messages, context = run(scheduler, hedged(scheduler, transport))
    assert transport.subscriptions() == [subscribe(200, 220), subscribe(210, 220)]  # the stall is cancelled
    assert outcome(messages) == (220, "value")
    assert context.stats.log_fields() == {"attempts": 1, "hedges": {"market_data": 1}}


def test_a_stall_costs_about_one_normal_call_not_the_timeout():
    scheduler = TestScheduler()
    transport = Scripted(scheduler, STALL, answer(10, OK))
    messages, _ = run(scheduler, hedged(scheduler, transport, timeout={"attempt_s": 1000}))
    assert outcome(messages) == (220, "value")  # p95 (10) + one call (10), not 1000


def test_hedges_spend_the_retry_budget():
    scheduler = TestScheduler()
    transport = Scripted(scheduler, answer(30, OK), answer(1, OK))
    client = hedged(scheduler, transport, retry_budget={"ratio": 0, "min_per_s": 0})
    messages, context = run(scheduler, client)
    assert len(transport.subscriptions()) == 1
    assert outcome(messages) == (230, "value")
    assert context.stats.log_fields() == {"attempts": 1, "budget_exhausted": {"market_data": 1}}


# --- the breaker and the bulkhead ------------------------------------------------------------------


def breaking(scheduler: TestScheduler, transport: Scripted) -> ServiceClient:
    settings = {
        "breaker": {
            "min_calls": 2,
            "failure_rate": 0.5,
            "window_s": 500,
            "open_s": 100,
            "half_open_probes": 1,
        },
        "retry": {"max_attempts": 1},
    }
    return make_client(scheduler, transport, **settings)


def test_an_open_circuit_fails_at_once_without_a_call_and_says_when_to_come_back():
    scheduler = TestScheduler()
    transport = Scripted(scheduler, answer(10, BROKEN))
    client = breaking(scheduler, transport)
    post_at(scheduler, client, 200, 300)
    scheduler.advance_to(400)
    assert client.policy.breaker.state == "open"
    context = call_context(scheduler)
    errors: list[Exception] = []
    client.post("/d", {}, DIVIDENDS, context).subscribe(on_error=errors.append)
    [error] = errors
    assert (error.code, error.details["circuit"], error.retryable) == ("SERVICE_UNAVAILABLE", "open", False)
    assert error.retry_after_s == 10  # opened at 310, for 100
    assert len(transport.subscriptions()) == 2


def test_a_probe_that_succeeds_closes_the_circuit():
    scheduler = TestScheduler()
    transport = Scripted(scheduler, answer(10, BROKEN), answer(10, BROKEN), answer(10, OK))
    client = breaking(scheduler, transport)
    post_at(scheduler, client, 200, 300, 450)
    scheduler.advance_to(500)
    assert client.policy.breaker.state == "closed"
    assert len(transport.subscriptions()) == 3


def test_an_answer_that_is_not_the_services_fault_does_not_open_the_circuit():
    scheduler = TestScheduler()
    transport = Scripted(scheduler, answer(10, NO_SUCH_TICKER))
    client = breaking(scheduler, transport)
    post_at(scheduler, client, 200, 300, 400)
    scheduler.advance_to(500)
    assert client.policy.breaker.state == "closed"


def test_a_full_bulkhead_refuses_the_next_call_at_once():
    scheduler = TestScheduler()
    transport = Scripted(scheduler, answer(50, OK))
    client = make_client(scheduler, transport, bulkhead={"max_in_flight": 1})
    first = client.post("/d", {}, DIVIDENDS, call_context(scheduler))
    second = client.post("/d", {}, DIVIDENDS, call_context(scheduler))
    results = scheduler.start(lambda: reactivex.merge(first, second.pipe(_error_as_value)), disposed=1000)
    [refused, value, _] = results.messages
    assert (refused.time, refused.value.value.code, refused.value.value.details["bulkhead"]) == (
        200,
        "SERVICE_UNAVAILABLE",
        "full",
    )
    assert value.time == 250
    assert client.policy.bulkhead.in_flight == 0  # every place given back


def call_context(scheduler: TestScheduler) -> CallContext:
    return CallContext("rid", Deadline(1000, clock_of(scheduler)))


def post_at(scheduler: TestScheduler, client: ServiceClient, *starts: int) -> None:
    """A dividends call at each tick of ``starts``, its failure ignored (the breaker is what is read)."""
    for start in starts:
        scheduler.schedule_absolute(
            start,
            lambda *_: client.post("/d", {}, DIVIDENDS, call_context(scheduler)).subscribe(
                on_error=lambda _: None
            ),
        )


def _error_as_value(source: Observable[Any]) -> Observable[Any]:
    return source.pipe(reactivex.operators.catch(lambda error, _: reactivex.just(error)))


def test_each_call_adds_to_the_budget_once_whatever_its_attempts():
    scheduler = TestScheduler()
    transport = Scripted(scheduler, answer(10, BROKEN), answer(10, OK))
    client = make_client(scheduler, transport, retry_budget={"window_s": 500})
    calls = [client.post("/d", {}, DIVIDENDS, call_context(scheduler)) for _ in range(3)]
    scheduler.start(lambda: reactivex.merge(*calls), disposed=400)
    budget = client.policy.budget
    assert len(transport.subscriptions()) == 4  # the first exchange failed and was tried again
    assert (budget.recent_calls(), budget.extra_attempts()) == (3, 1)
