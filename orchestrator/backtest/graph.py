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

from orchestrator.backtest.answer import Gathered, StrategyRun, assemble_answer
from orchestrator.backtest.calls import CallTracker
from orchestrator.clients.downstream import Downstream
from orchestrator.errors import InsufficientData, ServiceTimeout
from orchestrator.schemas.downstream import Dividends, Prices
from orchestrator.schemas.requests import BacktestRequest, PortfolioParams
from orchestrator.schemas.responses import BacktestResponse
from streams import join_named, share_replay, timeout_after

BASELINE_STRATEGY = "buy_and_hold"


@dataclass(frozen=True, slots=True)
class Backtester:
    """What every backtest of one application runs on: the services, the deadline, the risk-free rate."""

    downstream: Downstream
    deadline_s: float
    risk_free_rate_annual: float

    def graph(
        self, request: BacktestRequest, tracker: CallTracker, request_id: str
    ) -> Observable[BacktestResponse]:
        """The cold graph of one backtest: nothing is called until it is subscribed."""
        calls = _BacktestCalls(self, request, tracker, request_id)
        joined = join_named(
            prices=calls.prices, dividends=calls.dividends, active=calls.active, baseline=calls.baseline
        )
        return joined.pipe(
            ops.flat_map(calls.score),
            ops.map(
                lambda gathered: assemble_answer(request, gathered, request_id, int(tracker.elapsed_ms()))
            ),
            timeout_after(self.deadline_s, self.downstream.scheduler, lambda: self._deadline_passed(tracker)),
        )

    def _deadline_passed(self, tracker: CallTracker) -> ServiceTimeout:
        """Name the oldest call still running when the overall deadline passed."""
        pending = tracker.in_flight()
        service = pending[0][1] if pending else "orchestrator"
        return ServiceTimeout(
            service, self.deadline_s, {"deadline": True, "pending": [call for call, _ in pending]}
        )


class _BacktestCalls:
    """The tracked calls of one backtest, in the order a reader of the graph meets them.

    Each call is tracked when the graph is built, not when it starts, so the tracker knows every
    call (and how many there are) before the first one runs. Prices and dividends are shared: each
    is fetched once, whoever consumes it.
    """

    def __init__(
        self, backtester: Backtester, request: BacktestRequest, tracker: CallTracker, request_id: str
    ) -> None:
        self.services, self.risk_free_rate_annual = backtester.downstream, backtester.risk_free_rate_annual
        self.request, self.tracker, self.rid = request, tracker, request_id
        market = self.services.test_data if request.use_test_data else self.services.market_data
        source, market_params = market.service.name, request.market_params
        self.prices: Observable[Prices] = market.prices(market_params, request_id).pipe(
            tracker.track("market_data.prices", source, lambda p: {"prices": len(p.prices)}),
            ops.map(_require_prices),
            share_replay(),
        )
        self.dividends: Observable[Dividends] = market.dividends(market_params, request_id).pipe(
            tracker.track("market_data.dividends", source, lambda d: {"dividends": len(d.dividends)}),
            share_replay(),
        )
        strategy = request.strategy_params
        self.active = self._run("active", strategy.strategy_type, strategy.config, request.portfolio_params)
        self.baseline = self._run("baseline", BASELINE_STRATEGY, {}, baseline_portfolio(request))
        self._track_metrics = tracker.track("metrics", self.services.metrics.service.name)

    def _run(
        self, name: str, strategy_type: str, config: dict[str, Any], params: PortfolioParams
    ) -> Observable[StrategyRun]:
        """Signals as soon as prices are in; the simulation once signals, prices and dividends are."""
        strategy, portfolio, rid = self.services.strategy, self.services.portfolio, self.rid
        track_signals = self.tracker.track(
            f"signals.{name}", strategy.service.name, lambda s: {"signals": len(s.signals)}
        )
        track_simulation = self.tracker.track(
            f"simulate.{name}", portfolio.service.name, lambda s: {"trades": len(s.trades)}
        )
        signals = self.prices.pipe(
            ops.flat_map(lambda p: strategy.signals(strategy_type, config, p, rid).pipe(track_signals)),
            share_replay(),
        )
        simulation = reactivex.zip(signals, self.prices, self.dividends).pipe(
            ops.flat_map(lambda spd: portfolio.simulate(params, *spd, rid).pipe(track_simulation)),
        )
        return reactivex.zip(signals, simulation).pipe(ops.starmap(StrategyRun))

    def score(self, joined: dict[str, Any]) -> Observable[Gathered]:
        """Metrics over both simulations, once everything else is in."""
        market_params = self.request.market_params
        return self.services.metrics.calculate(
            joined["active"].simulation,
            joined["baseline"].simulation,
            market_params.start_date,
            market_params.end_date,
            self.risk_free_rate_annual,
            self.rid,
        ).pipe(self._track_metrics, ops.map(lambda metrics: Gathered(metrics=metrics, **joined)))


def baseline_portfolio(request: BacktestRequest) -> PortfolioParams:
    """Buy-and-hold, all in on day one, with no transaction costs and no cash interest."""
    baseline = request.baseline_params
    return PortfolioParams(
        initial_capital=baseline.initial_capital,
        investment_per_trade=baseline.initial_capital,
        reinvest_dividends=baseline.reinvest_dividends,
    )


def _require_prices(prices: Prices) -> Prices:
    if not prices.prices:
        raise InsufficientData("No prices in the requested date range", {"data_points": 0})
    return prices
