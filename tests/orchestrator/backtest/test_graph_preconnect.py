"""The graph readies each call's connection while the call before it runs, on virtual time.

Every call answers 10 ticks after it starts; the graph is subscribed at 200 (``test_graph.run``).
Each service's expectations are recorded as (tick, "expect" or "release").
"""

from __future__ import annotations

from typing import Any

from reactivex.testing import TestScheduler

from orchestrator.backtest.calls import CallTracker
from orchestrator.errors import ExternalApiError
from orchestrator.schemas.requests import parse_backtest
from tests import fakes
from tests.virtual import RecordedExpectations as Recorded
from tests.virtual import VirtualServices, backtester

READIED = ("strategy", "portfolio", "metrics")


def run(services: VirtualServices, disposed: int = 1000) -> dict[str, list[tuple[float, str]]]:
    scheduler = services.scheduler
    recorded = {name: Recorded(scheduler) for name in READIED}
    app = backtester(scheduler, services, preconnectors=recorded)  # type: ignore[arg-type]
    graph = app.graph(parse_backtest(fakes.backtest_request()), CallTracker(), app.context("rid"))
    scheduler.start(lambda: graph, disposed=disposed)
    return {name: sorted(recorded[name].log) for name in READIED}


def pairs(at: float, until: float, count: int) -> list[tuple[float, str]]:
    return [(at, "expect")] * count + [(until, "release")] * count


def test_each_call_is_expected_from_the_start_of_the_call_before_it_to_its_own_start():
    services = VirtualServices(TestScheduler())
    log = run(services)
    # prices 200-210, then both runs' signals 210-220, their simulations 220-230, metrics from 230
    assert services.started("signals.active") == services.started("signals.baseline") == 210
    assert log["strategy"] == pairs(200, 210, count=2)
    assert services.started("simulate.active") == 220
    assert log["portfolio"] == pairs(210, 220, count=2)
    assert services.started("metrics") == 230
    assert log["metrics"] == pairs(220, 230, count=1)  # one metrics call, readied by the active run


def test_a_run_waiting_longer_for_its_inputs_keeps_its_expectation_until_they_arrive():
    services = VirtualServices(TestScheduler(), delays={"market_data.prices": 40, "signals.active": 25})
    log = run(services)
    assert log["strategy"] == pairs(200, 240, count=2)
    assert log["portfolio"] == [(240, "expect"), (240, "expect"), (250, "release"), (265, "release")]


def test_a_failed_call_ends_what_it_expected_and_nothing_after_it_is_expected():
    failure: Any = ExternalApiError("market_data", 404, {"code": "INVALID_TICKER"})
    services = VirtualServices(TestScheduler(), errors={"market_data.prices": failure})
    log = run(services)
    assert log == {"strategy": pairs(200, 210, count=2), "portfolio": [], "metrics": []}


def test_a_client_gone_ends_every_expectation_at_once():
    services = VirtualServices(TestScheduler(), delays={"signals.active": 100, "signals.baseline": 100})
    log = run(services, disposed=250)
    assert log["portfolio"] == pairs(210, 250, count=2)
    assert log["metrics"] == []
