"""One backtest run two ways over in-memory services: the real graph, and a plain-asyncio twin.

The stand-ins answer each call with a model parsed once, up front, so what is left to measure is
building request bodies, scheduling and assembling the answer. The twin follows the same dependency
graph with a task group and ``asyncio.timeout``: the difference between the two is what the
reactivex operators cost.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import BaseModel
from reactivex.scheduler.eventloop import AsyncIOScheduler

from benchmarks.fixtures import kind_of_signals, kind_of_simulation
from benchmarks.models import Models
from orchestrator.clients.base import ServiceClient
from orchestrator.clients.market_data import MarketDataClient
from orchestrator.clients.metrics import MetricsClient
from orchestrator.clients.portfolio import PortfolioClient, SimulationParams
from orchestrator.clients.strategy import StrategyClient
from orchestrator.errors import InsufficientData, from_exception
from orchestrator.pipeline import BASELINE_STRATEGY, Services, backtest_graph
from orchestrator.report import Outcome, Run, build_response
from orchestrator.schemas.downstream import Prices
from orchestrator.schemas.requests import BacktestRequest
from orchestrator.schemas.responses import BacktestResponse
from orchestrator.stages import StageTracker

M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")

REQUEST_ID = "bench-graph"
TIMEOUT_S = 10.0
DEADLINE_S = 30.0
RISK_FREE = 0.02


# --- stand-in services -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Answers:
    """The parsed answer each call gets, chosen from the request body as the fake services do."""

    models: Models

    def pick(self, path: str, body: dict[str, Any]) -> BaseModel:
        models = self.models
        match path:
            case "/prices":
                return models.prices
            case "/dividends":
                return models.dividends
            case "/signals":
                return models.signals[kind_of_signals(body)]
            case "/simulate":
                return models.simulations[kind_of_simulation(body)]
            case "/calculate":
                return models.metrics
        raise LookupError(path)


@dataclass(frozen=True, slots=True)
class InstantServiceClient(ServiceClient):
    """The real ``ServiceClient.post`` (task, timeout, error mapping); the HTTP exchange answers at once."""

    answers: Answers

    async def _post(self, path: str, body: dict[str, Any], model: type[M], request_id: str) -> M:
        return self.answers.pick(path, body)  # type: ignore[return-value]


@dataclass(frozen=True, slots=True)
class InstantAsyncService:
    """What a plain-asyncio client would do per call: await the answer under a timeout, map errors.

    The orchestrator's client classes only build a body and return ``service.post(...)``, so given
    this service they return a coroutine instead of an observable: the reference reuses them as is.
    """

    name: str
    answers: Answers
    timeout_s: float = TIMEOUT_S

    async def post(self, path: str, body: dict[str, Any], model: type[M], request_id: str) -> M:
        try:
            async with asyncio.timeout(self.timeout_s):
                return await self._post(path, body)  # type: ignore[return-value]
        except Exception as error:
            raise from_exception(self.name, self.timeout_s, error) from error

    async def _post(self, path: str, body: dict[str, Any]) -> BaseModel:
        return self.answers.pick(path, body)


def graph_services(answers: Answers) -> Services:
    """``Services`` as ``app.downstream_services`` builds them, on stand-in clients."""
    scheduler = AsyncIOScheduler(asyncio.get_running_loop())

    def client(name: str) -> InstantServiceClient:
        return InstantServiceClient(name, "http://in-memory", TIMEOUT_S, None, scheduler, answers)  # type: ignore[arg-type]

    return Services(
        market_data=MarketDataClient(client("market_data")),
        test_data=MarketDataClient(client("test_data")),
        strategy=StrategyClient(client("strategy")),
        portfolio=PortfolioClient(client("portfolio")),
        metrics=MetricsClient(client("metrics")),
        scheduler=scheduler,
        deadline_s=DEADLINE_S,
        risk_free_rate_annual=RISK_FREE,
    )


@dataclass(frozen=True, slots=True)
class AsyncClients:
    market: MarketDataClient
    strategy: StrategyClient
    portfolio: PortfolioClient
    metrics: MetricsClient

    @classmethod
    def build(cls, answers: Answers) -> AsyncClients:
        return cls(
            MarketDataClient(InstantAsyncService("market_data", answers)),  # type: ignore[arg-type]
            StrategyClient(InstantAsyncService("strategy", answers)),  # type: ignore[arg-type]
            PortfolioClient(InstantAsyncService("portfolio", answers)),  # type: ignore[arg-type]
            MetricsClient(InstantAsyncService("metrics", answers)),  # type: ignore[arg-type]
        )


# --- one backtest, two ways --------------------------------------------------------------------


async def graph_backtest(request: BacktestRequest, services: Services) -> BacktestResponse:
    """As ``routes.backtest.post_backtest`` runs it (without serializing the answer)."""
    tracker = StageTracker()
    return await backtest_graph(request, services, tracker, REQUEST_ID)


async def reference_backtest(request: BacktestRequest, clients: AsyncClients) -> BacktestResponse:
    """The graph of ``pipeline.py`` in plain asyncio: same calls, same order, same answer."""
    began, durations_ms = time.perf_counter(), dict[str, float]()
    market, rid = request.market_params, REQUEST_ID

    async def timed(stage: str, call: Awaitable[T]) -> T:
        start = time.perf_counter()
        value = await call
        durations_ms[stage] = round((time.perf_counter() - start) * 1000, 1)
        return value

    async def fetch_prices() -> Prices:
        prices = await timed("market_data.prices", clients.market.prices(market, rid))
        if not prices.prices:
            raise InsufficientData("No prices in the requested date range", {"data_points": 0})
        return prices

    async with asyncio.timeout(DEADLINE_S):
        async with asyncio.TaskGroup() as group:  # the first failure cancels every other call
            prices = group.create_task(fetch_prices())
            dividends = group.create_task(
                timed("market_data.dividends", clients.market.dividends(market, rid))
            )

            async def run(
                name: str, strategy_type: str, config: dict[str, Any], params: SimulationParams
            ) -> Run:
                strategize = clients.strategy.signals(strategy_type, config, await prices, rid)
                signals = await timed(f"signals.{name}", strategize)
                simulate = clients.portfolio.simulate(params, signals, await prices, await dividends, rid)
                return Run(signals, await timed(f"simulate.{name}", simulate))

            active = group.create_task(run("active", *_active_params(request)))
            baseline = group.create_task(run("baseline", *_baseline_params(request)))
        active_run, baseline_run = active.result(), baseline.result()
        score = clients.metrics.calculate(
            active_run.simulation, baseline_run.simulation, market.start_date, market.end_date, RISK_FREE, rid
        )
        metrics = await timed("metrics", score)
    outcome = Outcome(prices.result(), dividends.result(), active_run, baseline_run, metrics)
    return build_response(request, outcome, rid, int((time.perf_counter() - began) * 1000))


def _active_params(request: BacktestRequest) -> tuple[str, dict[str, Any], SimulationParams]:
    strategy, portfolio = request.strategy_params, request.portfolio_params
    params = SimulationParams(
        initial_capital=portfolio.initial_capital,
        investment_per_trade=portfolio.investment_per_trade,
        reinvest_dividends=portfolio.reinvest_dividends,
        transaction_cost_pct=portfolio.transaction_cost_pct,
        cash_interest_rate_pct=portfolio.cash_interest_rate_pct,
    )
    return strategy.strategy_type, strategy.config, params


def _baseline_params(request: BacktestRequest) -> tuple[str, dict[str, Any], SimulationParams]:
    baseline = request.baseline_params
    params = SimulationParams(
        initial_capital=baseline.initial_capital,
        investment_per_trade=baseline.initial_capital,
        reinvest_dividends=baseline.reinvest_dividends,
    )
    return BASELINE_STRATEGY, {}, params
