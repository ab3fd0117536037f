"""The graph with its cache, on virtual time: market data and baseline runs are not fetched twice,
identical calls in flight are shared, and progress says which calls the cache answered."""

from __future__ import annotations

from typing import Any

from reactivex.testing import TestScheduler

import fakes
from orchestrator.backtest.calls import CallTracker
from orchestrator.backtest.graph import Backtester
from orchestrator.clients.context import CallContext
from orchestrator.schemas.requests import parse_backtest
from tests.virtual import VirtualServices, backtester

MARKET_CALLS = ("market_data.prices", "market_data.dividends")
BASELINE_CALLS = ("signals.baseline", "simulate.baseline")


class Backtest:
    """One backtest of ``request`` on ``app``, subscribed at ``tick``: its events and its stats."""

    def __init__(self, scheduler: TestScheduler, app: Backtester, tick: int, **request: Any) -> None:
        self.tracker = CallTracker(clock=lambda: scheduler.clock / 1000)
        self.events: list[dict[str, Any]] = []
        self.tracker.listen(self.events.append)
        self.context: CallContext = app.context("rid")
        graph = app.graph(parse_backtest(fakes.backtest_request(**request)), self.tracker, self.context)
        self.results: list[Any] = []
        scheduler.schedule_absolute(
            tick, lambda *_: graph.subscribe(self.results.append, self.results.append)
        )

    def states(self) -> dict[str, str]:
        """The last state each call reached."""
        return {event["stage"]: event["state"] for event in self.events}


def test_a_repeat_changing_only_the_strategy_makes_no_market_data_or_baseline_call():
    scheduler = TestScheduler()
    services = VirtualServices(scheduler)
    app = backtester(scheduler, services)
    Backtest(scheduler, app, 200)
    repeat = Backtest(scheduler, app, 400, strategy_params__config__price_change_threshold=-0.03)
    scheduler.start()
    assert [services.subscriptions(call) for call in (*MARKET_CALLS, *BASELINE_CALLS)] == [1, 1, 1, 1]
    assert services.subscriptions("signals.active") == 2
    assert repeat.results and isinstance(repeat.results[0], dict)
    assert {call: repeat.states()[call] for call in (*MARKET_CALLS, *BASELINE_CALLS)} == dict.fromkeys(
        (*MARKET_CALLS, *BASELINE_CALLS), "cached"
    )


def test_twenty_identical_backtests_at_once_make_one_prices_and_one_dividends_call():
    scheduler = TestScheduler()
    services = VirtualServices(scheduler)
    app = backtester(scheduler, services)
    backtests = [Backtest(scheduler, app, 200) for _ in range(20)]
    scheduler.start()
    assert [services.subscriptions(call) for call in (*MARKET_CALLS, *BASELINE_CALLS)] == [1, 1, 1, 1]
    assert services.subscriptions("signals.active") == 20  # the active runs are each backtest's own
    assert all(backtest.results and isinstance(backtest.results[0], dict) for backtest in backtests)


def test_a_shared_call_is_reported_as_cached_and_coalesced_to_the_backtests_that_waited_for_it():
    scheduler = TestScheduler()
    app = backtester(scheduler, VirtualServices(scheduler))
    Backtest(scheduler, app, 200)
    waiter = Backtest(scheduler, app, 205)
    scheduler.start()
    [prices] = [event for event in waiter.events if event["stage"] == "market_data.prices"]
    assert (prices["state"], prices["coalesced"], prices["facts"]) == ("cached", True, {"prices": 4})
    assert waiter.context.stats.counts["cache_coalesced"] == {"prices": 1, "dividends": 1, "baseline": 1}


def test_every_call_counts_toward_done_whether_made_or_cached():
    scheduler = TestScheduler()
    app = backtester(scheduler, VirtualServices(scheduler))
    Backtest(scheduler, app, 200)
    repeat = Backtest(scheduler, app, 400)
    scheduler.start()
    assert repeat.events[-1]["done"] == repeat.events[-1]["total"] == 7


def test_another_baseline_shares_the_market_data_but_makes_its_own_baseline_calls():
    scheduler = TestScheduler()
    services = VirtualServices(scheduler)
    app = backtester(scheduler, services)
    Backtest(scheduler, app, 200)
    Backtest(scheduler, app, 400, baseline_params__initial_capital=20_000)
    scheduler.start()
    assert [services.subscriptions(call) for call in (*MARKET_CALLS, *BASELINE_CALLS)] == [1, 1, 2, 2]


def test_another_ticker_shares_nothing():
    scheduler = TestScheduler()
    services = VirtualServices(scheduler)
    app = backtester(scheduler, services)
    Backtest(scheduler, app, 200)
    Backtest(scheduler, app, 400, market_params__ticker="SPY")
    scheduler.start()
    assert [services.subscriptions(call) for call in (*MARKET_CALLS, *BASELINE_CALLS)] == [2, 2, 2, 2]
