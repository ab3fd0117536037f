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

Backtests over the same market can share its part of the graph (:class:`Market`: prices, dividends
and the baseline run), which a sweep or a comparison builds once and passes to each backtest.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from reactivex import Observable

from orchestrator.backtest import run_codec
from orchestrator.backtest.answer import Document, Gathered, StrategyRun, assemble_answer
from orchestrator.backtest.calls import CallTracker
from orchestrator.cache import codecs
from orchestrator.cache.calls import CallCache
from orchestrator.cache.codecs import Codec
from orchestrator.clients.context import CallContext, CallStats
from orchestrator.clients.downstream import Downstream
from orchestrator.clients.market_data import MarketDataClient
from orchestrator.clients.service import ServiceClient
from orchestrator.errors import ORCHESTRATOR, CircuitOpen, DeadlinePassed, InsufficientData
from orchestrator.resilience.clock import clock_of
from orchestrator.resilience.deadline import Deadline
from orchestrator.schemas.downstream import Dividends, Metrics, Prices, Signals, Simulation
from orchestrator.schemas.requests import BacktestRequest, PortfolioParams
from orchestrator.tracing import TraceContext
from streams import defer, join_named, map_value, share_replay, then, throw, timeout_after, zip_values

BASELINE_STRATEGY = "buy_and_hold"


class Sized(Protocol):
    """What the cache keeps says how much it holds, for the cache's byte bound."""

    @property
    def nbytes(self) -> int: ...


T = TypeVar("T", bound=Sized)


@dataclass(frozen=True, slots=True)
class Backtester:
    """What every backtest of one application runs on: the services, the deadline, the risk-free
    rate, and the cache of market data and baseline runs (none unless given)."""

    downstream: Downstream
    deadline_s: float
    risk_free_rate_annual: float
    cache: CallCache = field(default_factory=CallCache.disabled)

    def context(
        self,
        request_id: str,
        budget_s: float | None = None,
        stats: CallStats | None = None,
        trace: TraceContext | None = None,
    ) -> CallContext:
        """What the calls of one backtest share: its id and its deadline, never later than ours;
        ``stats``, where several backtests count what their calls went through together; and the
        request's ``trace``, each call a span of it (a new trace when none is given)."""
        budget = self.deadline_s if budget_s is None else min(budget_s, self.deadline_s)
        return CallContext(
            request_id,
            Deadline(budget, clock_of(self.downstream.scheduler)),
            stats or CallStats(),
            trace or TraceContext.start(),
        )

    def market(self, request: BacktestRequest, tracker: CallTracker, context: CallContext) -> Market:
        """The request's market data and baseline run, cold, each fetched or run once however many
        backtests consume them (and kept by the cache, when it is on)."""
        return _MarketCalls(self.downstream, request, tracker, context, self.cache).market()

    def market_on(
        self,
        request: BacktestRequest,
        prices: Observable[Prices],
        dividends: Observable[Dividends],
        tracker: CallTracker,
        context: CallContext,
    ) -> Market:
        """A market on data already in hand (``just``: a window cut from a longer fetch) or already
        fetched for another baseline: only the request's baseline run is made, once."""
        baseline = baseline_run(
            self.downstream, prices, dividends, tracker, context, baseline_portfolio(request)
        )
        return Market(prices, dividends, baseline.pipe(share_replay()))

    def graph(
        self,
        request: BacktestRequest,
        tracker: CallTracker,
        context: CallContext,
        market: Market | None = None,
        name: str = "active",
    ) -> Observable[Document]:
        """The cold graph of one backtest: nothing is called until it is subscribed, and then
        nothing at all if a service it needs is known to be failing (its circuit is open).

        ``market`` is the part it shares with other backtests, made here when not given; ``name``
        names its own calls (``signals.<name>``, ``simulate.<name>``; ``metrics`` unless
        ``metrics.<name>`` when several backtests share one tracker)."""
        market = market or self.market(request, tracker, context)
        calls = _BacktestCalls(
            self.downstream, request, tracker, context, self.risk_free_rate_annual, market, name
        )
        joined = join_named(
            prices=calls.prices, dividends=calls.dividends, active=calls.active, baseline=calls.baseline
        )
        deadline_s, rid = context.deadline.budget_s, context.request_id

        def begin(_: Any) -> Observable[dict[str, Any]]:
            # Started once the deadline's own timer is set: a call's timeout, bounded by what the
            # deadline leaves, then never fires before it, and the deadline names what it caught.
            context.deadline.start()
            return joined

        def answer(gathered: Gathered) -> Document:
            return assemble_answer(request, gathered, rid, int(tracker.elapsed_ms()))

        graph = defer(begin).pipe(
            then(calls.score),
            map_value(answer),
            timeout_after(
                deadline_s, self.downstream.scheduler, lambda: _deadline_passed(tracker, deadline_s)
            ),
        )

        def start(_: Any) -> Observable[Document]:
            for client in calls.services_needed():
                if client.policy.breaker.refuses_calls():
                    context.stats.add("circuit_open", client.name)
                    return throw(CircuitOpen(client.name, client.policy.breaker.retry_after_s()))
            return graph

        return defer(start)


def market_source(services: Downstream, request: BacktestRequest) -> MarketDataClient:
    """Where a backtest's prices and dividends come from: the test-data service's fixed series
    when the request asks for it (``use_test_data``), else the market-data service."""
    return services.test_data if request.use_test_data else services.market_data


@dataclass(frozen=True, slots=True)
class Market:
    """The part of the graph that backtests over the same market share: each is made once, for
    every backtest that consumes it."""

    prices: Observable[Prices]
    dividends: Observable[Dividends]
    baseline: Observable[StrategyRun]


class _MarketCalls:
    """The tracked calls of one market: prices and dividends, and the buy-and-hold baseline run.

    Each call is tracked when the graph is built, not when it starts, so the tracker knows every
    call (and how many there are) before the first one runs.
    """

    def __init__(
        self,
        services: Downstream,
        request: BacktestRequest,
        tracker: CallTracker,
        context: CallContext,
        cache: CallCache,
    ) -> None:
        self.services, self.request, self.tracker, self.context = services, request, tracker, context
        self.cache = cache
        self.source = market_source(services, request)

    def market(self) -> Market:
        source, market_params, tracker = self.source.service.name, self.request.market_params, self.tracker
        # What the market data depend on; the baseline also on its own parameters.
        market_key = (source, *market_params.model_dump().values())
        prices = self._kept(
            ("prices", *market_key),
            self.source.prices(market_params, self.context).pipe(
                tracker.track("market_data.prices", source, _price_facts), map_value(_require_prices)
            ),
            {"market_data.prices": _price_facts},
            codecs.PRICES,
        ).pipe(share_replay())
        dividends_key = (
            "dividends",
            source,
            market_params.ticker,
            market_params.start_date,
            market_params.end_date,
        )
        dividends = self._kept(
            dividends_key,
            self.source.dividends(market_params, self.context).pipe(
                tracker.track("market_data.dividends", source, _dividend_facts)
            ),
            {"market_data.dividends": _dividend_facts},
            codecs.DIVIDENDS,
        ).pipe(share_replay())
        baseline = baseline_portfolio(self.request)
        run = baseline_run(self.services, prices, dividends, tracker, self.context, baseline)
        kept_run = self._kept(
            ("baseline", *market_key, baseline.initial_capital, baseline.reinvest_dividends),
            run,
            {"signals.baseline": _run_signal_facts, "simulate.baseline": _run_trade_facts},
            run_codec.RUN,
        )
        return Market(prices, dividends, kept_run.pipe(share_replay()))

    def _kept(
        self,
        key: tuple[Any, ...],
        load: Observable[T],
        facts: dict[str, Facts[T]],
        codec: Codec[T] | None = None,
    ) -> Observable[T]:
        """``load``, unless the cache has its answer or an identical call is in flight; ``facts``
        gives, per call ``load`` makes, what its progress event says when the cache answers it.
        With a ``codec`` (market data, the baseline's run), replicas share the answer through Redis
        when it is set up."""
        tracker = self.tracker  # not ``self``: the graph must hold no cycle (see share_replay's value)

        def shared(value: T, coalesced: bool) -> None:
            for call, facts_of in facts.items():
                tracker.cached(call, facts_of(value), coalesced)

        return self.cache.serve(
            key,
            self.request.market_params.end_date,
            load,
            size_of=lambda value: value.nbytes,
            name=key[0],
            stats=self.context.stats,
            on_shared=shared,
            codec=codec,
        )


def strategy_run(
    services: Downstream,
    prices: Observable[Prices],
    dividends: Observable[Dividends],
    tracker: CallTracker,
    context: CallContext,
    name: str,
    strategy_type: str,
    config: dict[str, Any],
    params: PortfolioParams,
) -> Observable[StrategyRun]:
    """Signals as soon as prices are in; the simulation once signals, prices and dividends are."""
    strategy, portfolio = services.strategy, services.portfolio
    track_signals = tracker.track(f"signals.{name}", strategy.service.name, _signals_facts)
    track_simulation = tracker.track(f"simulate.{name}", portfolio.service.name, _simulation_facts)

    def signals_for(given: Prices) -> Observable[Signals]:
        return strategy.signals(strategy_type, config, given, context).pipe(track_signals)

    def simulate(spd: tuple[Any, ...]) -> Observable[Simulation]:
        signals_in, prices_in, dividends_in = spd
        return portfolio.simulate(params, signals_in, prices_in, dividends_in, context).pipe(track_simulation)

    signals = prices.pipe(then(signals_for), share_replay())
    simulation = zip_values(signals, prices, dividends).pipe(then(simulate))
    return zip_values(signals, simulation).pipe(map_value(_run_of))


def _signals_facts(signals: Signals) -> dict[str, Any]:
    return {"signals": len(signals.items)}


def _simulation_facts(simulation: Simulation) -> dict[str, Any]:
    return {"trades": len(simulation.trades)}


def _run_of(pair: tuple[Any, ...]) -> StrategyRun:
    return StrategyRun(*pair)


def baseline_run(
    services: Downstream,
    prices: Observable[Prices],
    dividends: Observable[Dividends],
    tracker: CallTracker,
    context: CallContext,
    params: PortfolioParams,
) -> Observable[StrategyRun]:
    """The buy-and-hold run every backtest is compared with."""
    return strategy_run(
        services, prices, dividends, tracker, context, "baseline", BASELINE_STRATEGY, {}, params
    )


class _BacktestCalls:
    """The calls of one backtest on its market: its own strategy run, then metrics over both runs."""

    def __init__(
        self,
        services: Downstream,
        request: BacktestRequest,
        tracker: CallTracker,
        context: CallContext,
        risk_free_rate_annual: float,
        market: Market,
        name: str,
    ) -> None:
        self.services, self.risk_free_rate_annual = services, risk_free_rate_annual
        self.request, self.context = request, context
        self.prices, self.dividends, self.baseline = market.prices, market.dividends, market.baseline
        strategy = request.strategy_params
        self.active = strategy_run(
            services,
            market.prices,
            market.dividends,
            tracker,
            context,
            name,
            strategy.strategy_type,
            strategy.config,
            request.portfolio_params,
        )
        self.market_service = market_source(services, request).service
        metrics_call = "metrics" if name == "active" else f"metrics.{name}"
        self._track_metrics: Callable[[Observable[Metrics]], Observable[Metrics]] = tracker.track(
            metrics_call, services.metrics.service.name
        )

    def services_needed(self) -> list[ServiceClient]:
        services = self.services
        return [
            self.market_service,
            services.strategy.service,
            services.portfolio.service,
            services.metrics.service,
        ]

    def score(self, joined: dict[str, Any]) -> Observable[Gathered]:
        """Metrics over both simulations, once everything else is in."""
        market_params = self.request.market_params

        def gathered(metrics: Metrics) -> Gathered:
            return Gathered(metrics=metrics, **joined)

        return self.services.metrics.calculate(
            joined["active"].simulation,
            joined["baseline"].simulation,
            market_params.start_date,
            market_params.end_date,
            self.risk_free_rate_annual,
            self.context,
        ).pipe(self._track_metrics, map_value(gathered))


def _deadline_passed(tracker: CallTracker, deadline_s: float) -> DeadlinePassed:
    """Name the oldest call still running when the overall deadline passed."""
    pending = tracker.in_flight()
    service = pending[0][1] if pending else ORCHESTRATOR
    return DeadlinePassed(deadline_s, service, [call for call, _ in pending])


def baseline_portfolio(request: BacktestRequest) -> PortfolioParams:
    """Buy-and-hold, all in on day one, with no transaction costs and no cash interest."""
    baseline = request.baseline_params
    return PortfolioParams(
        initial_capital=baseline.initial_capital,
        investment_per_trade=baseline.initial_capital,
        reinvest_dividends=baseline.reinvest_dividends,
    )


Facts = Callable[[T], dict[str, Any]]


def _price_facts(prices: Prices) -> dict[str, Any]:
    return {"prices": prices.count}


def _dividend_facts(dividends: Dividends) -> dict[str, Any]:
    return {"dividends": len(dividends.items)}


def _run_signal_facts(run: StrategyRun) -> dict[str, Any]:
    return {"signals": len(run.signals.items)}


def _run_trade_facts(run: StrategyRun) -> dict[str, Any]:
    return {"trades": len(run.simulation.trades)}


def _require_prices(prices: Prices) -> Prices:
    if not prices.count:
        raise InsufficientData("No prices in the requested date range", {"data_points": 0})
    return prices
