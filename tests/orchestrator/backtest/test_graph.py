"""The backtest graph on virtual time: which call starts when, timeouts and the deadline to the tick,
and cancellation. Every call is a cold observable on a ``TestScheduler`` (``tests/virtual.py``); the
graph is subscribed at tick 200, and each call answers 10 ticks after it starts unless told otherwise.
"""

from __future__ import annotations

from typing import Any

from reactivex.testing import TestScheduler
from reactivex.testing.mockobserver import MockObserver

import fakes
from orchestrator.backtest.calls import CallTracker
from orchestrator.clients.transport import Answer
from orchestrator.errors import ApiError
from orchestrator.schemas.requests import parse_backtest
from tests.virtual import NEVER, VirtualServices, backtester

SUBSCRIBED = 200


def run(
    scheduler: TestScheduler, services: VirtualServices, *, disposed: int = 1000, **limits: int
) -> tuple[MockObserver[Any], CallTracker]:
    """Build the graph of the fakes' backtest request, subscribe at 200, dispose at ``disposed``."""
    tracker = CallTracker(clock=lambda: scheduler.clock / 1000)  # milliseconds read as ticks
    request = parse_backtest(fakes.backtest_request())
    app = backtester(scheduler, services, **limits)
    graph = app.graph(request, tracker, app.context("rid-virtual"))
    return scheduler.start(lambda: graph, disposed=disposed), tracker


def answer_tick(results: MockObserver[Any]) -> float:
    [answer, completed] = results.messages
    assert (answer.value.kind, completed.value.kind) == ("N", "C")
    return answer.time


def error_of(results: MockObserver[Any]) -> tuple[float, ApiError]:
    [failure] = results.messages
    assert failure.value.kind == "E"
    return failure.time, failure.value.exception


# --- the shape of the graph ------------------------------------------------------------------------


def test_the_graph_names_its_seven_calls_before_any_starts():
    scheduler = TestScheduler()
    tracker = CallTracker()
    request = parse_backtest(fakes.backtest_request())
    app = backtester(scheduler, VirtualServices(scheduler))
    app.graph(request, tracker, app.context("rid"))
    assert sorted(tracker.calls) == sorted(fakes.CALLS)
    assert len(tracker.calls) == len(fakes.CALLS)


def test_prices_and_dividends_start_together_when_subscribed():
    scheduler = TestScheduler()
    services = VirtualServices(scheduler)
    run(scheduler, services)
    assert services.started("market_data.prices") == services.started("market_data.dividends") == SUBSCRIBED


def test_strategy_calls_start_when_prices_arrive_without_waiting_for_dividends():
    scheduler = TestScheduler()
    services = VirtualServices(scheduler, delays={"market_data.prices": 10, "market_data.dividends": 50})
    run(scheduler, services)
    assert services.started("signals.active") == services.started("signals.baseline") == 210
    assert services.ended("market_data.dividends") == 250


def test_each_simulation_starts_when_its_own_signals_and_the_dividends_are_in():
    scheduler = TestScheduler()
    delays = {"market_data.dividends": 30, "signals.active": 10, "signals.baseline": 60}
    services = VirtualServices(scheduler, delays=delays)
    run(scheduler, services)
    # prices in at 210; active signals at 220, dividends at 230, baseline signals at 270
    assert services.started("simulate.active") == 230
    assert services.started("simulate.baseline") == 270


def test_metrics_starts_when_both_simulations_are_in():
    scheduler = TestScheduler()
    services = VirtualServices(scheduler, delays={"simulate.active": 10, "simulate.baseline": 40})
    run(scheduler, services)
    # prices 210, signals 220, simulations in at 230 and 260
    assert services.started("metrics") == 260


def test_the_answer_comes_after_the_critical_path_not_the_sum_of_the_calls():
    scheduler = TestScheduler()
    delays = {
        "market_data.prices": 20,
        "market_data.dividends": 30,
        "signals.active": 20,
        "signals.baseline": 20,
        "simulate.active": 20,
        "simulate.baseline": 20,
        "metrics": 10,
    }
    results, _ = run(scheduler, VirtualServices(scheduler, delays=delays))
    # prices 20 + signals 20 + simulation 20 + metrics 10; called one after another: 140
    assert answer_tick(results) == SUBSCRIBED + 70


def test_prices_are_fetched_once_for_all_their_consumers():
    scheduler = TestScheduler()
    services = VirtualServices(scheduler)
    run(scheduler, services)
    assert [services.subscriptions(call) for call in fakes.CALLS] == [1] * 7


def test_no_prices_fails_before_any_strategy_call():
    scheduler = TestScheduler()
    empty = Answer(200, b'{"success": true, "data": {"prices": []}}')
    services = VirtualServices(scheduler, answers={"market_data.prices": empty})
    results, _ = run(scheduler, services)
    tick, error = error_of(results)
    assert (tick, error.code) == (210, "INSUFFICIENT_DATA")
    assert services.subscriptions("signals.active") == 0


# --- time limits -----------------------------------------------------------------------------------


def test_a_stalled_call_times_out_at_its_own_tick_and_is_cancelled():
    scheduler = TestScheduler()
    services = VirtualServices(scheduler, stalled={"metrics"})
    results, _ = run(scheduler, services, timeout=100)
    # metrics starts at 230 (10 ticks for each of the three calls before it)
    tick, error = error_of(results)
    assert (tick, error.code, error.details["service"]) == (330, "SERVICE_TIMEOUT", "metrics")
    assert services.ended("metrics") == 330


def test_the_deadline_fires_at_its_tick_naming_the_calls_still_pending():
    scheduler = TestScheduler()
    services = VirtualServices(scheduler, stalled={"simulate.active", "simulate.baseline"})
    results, _ = run(scheduler, services, timeout=1000, deadline=300)
    tick, error = error_of(results)
    assert (tick, error.code) == (SUBSCRIBED + 300, "SERVICE_TIMEOUT")
    assert error.details == {
        "service": "portfolio",
        "timeout_s": 300,
        "deadline": True,
        "pending": ["simulate.active", "simulate.baseline"],
    }
    assert services.ended("simulate.active") == services.ended("simulate.baseline") == SUBSCRIBED + 300


def test_a_failed_call_ends_the_backtest_and_cancels_the_calls_in_flight():
    scheduler = TestScheduler()
    broken = Answer(502, b"<html>Bad gateway</html>")
    services = VirtualServices(
        scheduler,
        answers={"signals.active": broken},
        delays={"signals.baseline": 5},
        stalled={"simulate.baseline"},
    )
    results, _ = run(scheduler, services)
    tick, error = error_of(results)
    assert (tick, error.code, error.details["service"]) == (220, "EXTERNAL_API_ERROR", "strategy")
    assert services.started("simulate.baseline") == 215
    assert services.ended("simulate.baseline") == 220
    assert services.subscriptions("metrics") == 0


# --- disposal --------------------------------------------------------------------------------------


def test_disposal_cancels_every_call_in_flight_and_starts_no_other():
    scheduler = TestScheduler()
    services = VirtualServices(scheduler, delays={"market_data.dividends": 100, "signals.active": 100})
    results, tracker = run(scheduler, services, disposed=250)
    assert results.messages == []
    # in flight at 250: dividends (since 200), both strategy calls (since 210; baseline's is done at 220)
    assert services.ended("market_data.dividends") == 250
    assert services.ended("signals.active") == 250
    assert services.ended("signals.baseline") == 220
    assert [services.subscriptions(call) for call in ("simulate.active", "simulate.baseline", "metrics")] == [
        0
    ] * 3
    assert tracker.in_flight() == []


def test_a_call_still_in_flight_is_never_left_running():
    """No call's subscription outlives the graph: every one ends with an answer or a cancel."""
    scheduler = TestScheduler()
    services = VirtualServices(scheduler, stalled={"metrics"})
    run(scheduler, services, timeout=1000, deadline=1000, disposed=400)
    assert all(services.ended(call) != NEVER for call in fakes.CALLS)
    assert services.ended("metrics") == 400
