"""One backtest as one observable graph, built per request.

Read it top to bottom; each line is a call or a join, and the data decides what waits for what::

    prices ─────┬──> signals.active ───┐
                │                      ├──> simulate.active ───┐
    dividends ──┼──────────────────────┤                       ├──> metrics ──> answer
                │                      ├──> simulate.baseline ─┘
                └──> signals.baseline ─┘

Prices and dividends start at once; each strategy call starts as soon as prices arrive (it does
not wait for dividends); each simulation when its signals and the dividends are in; metrics when
both simulations are in. Shared results are fetched once (``share_replay``). The whole graph runs
under the overall deadline, and disposing it (a client that went away) cancels every call in flight.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import reactivex
from reactivex import Observable
from reactivex import operators as ops
from reactivex.abc import SchedulerBase

from orchestrator.clients.market_data import MarketDataClient
from orchestrator.clients.metrics import MetricsClient
from orchestrator.clients.portfolio import PortfolioClient, SimulationParams
from orchestrator.clients.strategy import StrategyClient
from orchestrator.errors import InsufficientData, ServiceTimeout
from orchestrator.report import Outcome, Run, build_response
from orchestrator.schemas.downstream import Prices
from orchestrator.schemas.requests import BacktestRequest
from orchestrator.schemas.responses import BacktestResponse
from orchestrator.stages import StageTracker
from streams import join_named, share_replay, timeout_after

BASELINE_STRATEGY = "buy_and_hold"


@dataclass(frozen=True, slots=True)
class Services:
    """The clients one backtest may call, and what the graph needs to run them."""

    market_data: MarketDataClient
    test_data: MarketDataClient
    strategy: StrategyClient
    portfolio: PortfolioClient
    metrics: MetricsClient
    scheduler: SchedulerBase
    deadline_s: float
    risk_free_rate_annual: float


def backtest_graph(
    request: BacktestRequest, services: Services, tracker: StageTracker, request_id: str
) -> Observable[BacktestResponse]:
    """The cold graph of one backtest: nothing is called until it is subscribed."""
    market_params, rid = request.market_params, request_id
    market = services.test_data if request.use_test_data else services.market_data
    source = market.service.name

    prices = market.prices(market_params, rid).pipe(
        tracker.track("market_data.prices", source, lambda p: {"prices": len(p.prices)}),
        ops.map(_require_prices),
        share_replay(),
    )
    dividends = market.dividends(market_params, rid).pipe(
        tracker.track("market_data.dividends", source, lambda d: {"dividends": len(d.dividends)}),
        share_replay(),
    )

    def run(
        name: str, strategy_type: str, config: dict[str, Any], params: SimulationParams
    ) -> Observable[Run]:
        signals = prices.pipe(
            ops.flat_map(
                lambda p: services.strategy.signals(strategy_type, config, p, rid).pipe(
                    tracker.track(f"signals.{name}", "strategy", lambda s: {"signals": len(s.signals)})
                )
            ),
            share_replay(),
        )
        simulation = reactivex.zip(signals, prices, dividends).pipe(
            ops.flat_map(
                lambda spd: services.portfolio.simulate(params, *spd, rid).pipe(
                    tracker.track(f"simulate.{name}", "portfolio", lambda s: {"trades": len(s.trades)})
                )
            ),
        )
        return reactivex.zip(signals, simulation).pipe(ops.starmap(Run))

    strategy = request.strategy_params
    active_run = run("active", strategy.strategy_type, strategy.config, _active_simulation(request))
    baseline_run = run("baseline", BASELINE_STRATEGY, {}, _baseline_simulation(request))

    def score(joined: dict[str, Any]) -> Observable[Outcome]:
        return services.metrics.calculate(
            joined["active"].simulation,
            joined["baseline"].simulation,
            market_params.start_date,
            market_params.end_date,
            services.risk_free_rate_annual,
            rid,
        ).pipe(
            tracker.track("metrics", "metrics"),
            ops.map(lambda metrics: Outcome(metrics=metrics, **joined)),
        )

    return join_named(prices=prices, dividends=dividends, active=active_run, baseline=baseline_run).pipe(
        ops.flat_map(score),
        ops.map(lambda outcome: build_response(request, outcome, rid, int(tracker.elapsed_ms()))),
        timeout_after(services.deadline_s, services.scheduler, lambda: _deadline_passed(tracker, services)),
    )


def _active_simulation(request: BacktestRequest) -> SimulationParams:
    portfolio = request.portfolio_params
    return SimulationParams(
        initial_capital=portfolio.initial_capital,
        investment_per_trade=portfolio.investment_per_trade,
        reinvest_dividends=portfolio.reinvest_dividends,
        transaction_cost_pct=portfolio.transaction_cost_pct,
        cash_interest_rate_pct=portfolio.cash_interest_rate_pct,
    )


def _baseline_simulation(request: BacktestRequest) -> SimulationParams:
    """Buy-and-hold, all in on day one, with no transaction costs and no cash interest."""
    baseline = request.baseline_params
    return SimulationParams(
        initial_capital=baseline.initial_capital,
        investment_per_trade=baseline.initial_capital,
        reinvest_dividends=baseline.reinvest_dividends,
    )


def _require_prices(prices: Prices) -> Prices:
    if not prices.prices:
        raise InsufficientData("No prices in the requested date range", {"data_points": 0})
    return prices


def _deadline_passed(tracker: StageTracker, services: Services) -> ServiceTimeout:
    """Name the oldest call still running when the overall deadline passed."""
    pending = tracker.in_flight()
    service = pending[0][1] if pending else "orchestrator"
    return ServiceTimeout(
        service,
        services.deadline_s,
        {"deadline": True, "pending": [stage for stage, _ in pending]},
    )
