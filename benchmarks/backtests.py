"""One backtest run two ways over in-memory services: the real graph, and a plain-asyncio twin.

The stand-in transport answers each request at once, as a task of its own like an HTTP exchange,
with the service's answer serialized once up front. So what is left to measure is building and
serializing request bodies, reading and validating answers, scheduling, and assembling the answer.
The twin follows the same dependency graph with a task group and ``asyncio.timeout``, over the same
transport, clients and answer reading: the difference between the two is what the reactivex
operators cost.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlsplit

import orjson
from reactivex import Observable
from reactivex.scheduler.eventloop import AsyncIOScheduler

from fakes.services import Answerer
from orchestrator.backtest.answer import Document, Gathered, StrategyRun, assemble_answer
from orchestrator.backtest.calls import CallTracker
from orchestrator.backtest.graph import BASELINE_STRATEGY, Backtester, baseline_portfolio
from orchestrator.clients.context import CallContext
from orchestrator.clients.downstream import connect
from orchestrator.clients.market_data import MarketDataClient
from orchestrator.clients.metrics import MetricsClient
from orchestrator.clients.portfolio import PortfolioClient
from orchestrator.clients.service import read_answer
from orchestrator.clients.strategy import StrategyClient
from orchestrator.clients.transport import Answer, Request
from orchestrator.errors import InsufficientData, from_client_exception
from orchestrator.resilience.deadline import Deadline
from orchestrator.schemas.downstream import AnswerKind, Expect, Prices
from orchestrator.schemas.requests import BacktestRequest, PortfolioParams
from orchestrator.settings import Settings
from streams import from_coroutine

T = TypeVar("T")

REQUEST_ID = "bench-graph"
TIMEOUT_S = 10.0
DEADLINE_S = 30.0
RISK_FREE = 0.02


# --- stand-in services -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class InstantTransport:
    """Every service at once: each request gets its pre-serialized answer, chosen from its body by
    what the fake HTTP services answer with, in a task of its own as a real exchange would be."""

    answer_of: Answerer  # ``Payloads.answerer()``

    def send(self, request: Request) -> Observable[Answer]:
        return from_coroutine(lambda: self.answer(request))

    async def answer(self, request: Request) -> Document:
        return Answer(200, self.answer_of(urlsplit(request.url).path, request.body or b""))


def graph_backtester(transport: InstantTransport) -> Backtester:
    """The backtester as the app factory builds it (every service from the registry), on ``transport``."""
    scheduler = AsyncIOScheduler(asyncio.get_running_loop())
    settings = Settings(timeout={"attempt_s": TIMEOUT_S})
    return Backtester(connect(settings, transport, scheduler), DEADLINE_S, RISK_FREE)


@dataclass(frozen=True, slots=True)
class InstantAsyncService:
    """What a plain-asyncio client would do per call: await the exchange under a timeout, map
    errors, read the answer.

    The orchestrator's client classes only build a body and return ``service.post(...)``, so given
    this service they return a coroutine instead of an observable: the reference reuses them as is.
    """

    name: str
    transport: InstantTransport
    timeout_s: float = TIMEOUT_S

    async def post(
        self,
        path: str,
        body: dict[str, Any],
        kind: AnswerKind[T],
        context: CallContext,
        expect: Expect[T] | None = None,
    ) -> T:
        headers = {"Content-Type": "application/json", "X-Request-ID": context.request_id}
        request = Request("POST", path, orjson.dumps(body), headers)
        try:
            async with asyncio.timeout(self.timeout_s):
                answer = await self.transport.answer(request)
            return read_answer(self.name, path, answer, kind, expect)
        except Exception as error:
            raise from_client_exception(self.name, self.timeout_s, error) from error


@dataclass(frozen=True, slots=True)
class AsyncClients:
    market: MarketDataClient
    strategy: StrategyClient
    portfolio: PortfolioClient
    metrics: MetricsClient

    @classmethod
    def build(cls, transport: InstantTransport) -> AsyncClients:
        return cls(
            MarketDataClient(InstantAsyncService("market_data", transport)),  # type: ignore[arg-type]
            StrategyClient(InstantAsyncService("strategy", transport)),  # type: ignore[arg-type]
            PortfolioClient(InstantAsyncService("portfolio", transport)),  # type: ignore[arg-type]
            MetricsClient(InstantAsyncService("metrics", transport)),  # type: ignore[arg-type]
        )


# --- one backtest, two ways --------------------------------------------------------------------


async def graph_backtest(request: BacktestRequest, backtester: Backtester) -> Document:
    """As ``web.routes.backtest.post_backtest`` runs it (without serializing the answer)."""
    return await backtester.graph(request, CallTracker(), backtester.context(REQUEST_ID))


async def reference_backtest(request: BacktestRequest, clients: AsyncClients) -> Document:
    """The graph of ``backtest/graph.py`` in plain asyncio: same calls, same order, same answer."""
    began, durations_ms = time.perf_counter(), dict[str, float]()
    market, context = request.market_params, CallContext(REQUEST_ID, Deadline(DEADLINE_S, time.monotonic))

    async def timed(stage: str, call: Awaitable[T]) -> T:
        start = time.perf_counter()
        value = await call
        durations_ms[stage] = round((time.perf_counter() - start) * 1000, 1)
        return value

    async def fetch_prices() -> Prices:
        prices = await timed("market_data.prices", clients.market.prices(market, context))
        if not prices.count:
            raise InsufficientData("No prices in the requested date range", {"data_points": 0})
        return prices

    async with asyncio.timeout(DEADLINE_S):
        async with asyncio.TaskGroup() as group:  # the first failure cancels every other call
            prices = group.create_task(fetch_prices())
            dividends = group.create_task(
                timed("market_data.dividends", clients.market.dividends(market, context))
            )

            async def run(
                name: str, strategy_type: str, config: dict[str, Any], params: PortfolioParams
            ) -> StrategyRun:
                strategize = clients.strategy.signals(strategy_type, config, await prices, context)
                signals = await timed(f"signals.{name}", strategize)
                simulate = clients.portfolio.simulate(params, signals, await prices, await dividends, context)
                return StrategyRun(signals, await timed(f"simulate.{name}", simulate))

            strategy = request.strategy_params
            active = group.create_task(
                run("active", strategy.strategy_type, strategy.config, request.portfolio_params)
            )
            baseline = group.create_task(run("baseline", BASELINE_STRATEGY, {}, baseline_portfolio(request)))
        active_run, baseline_run = active.result(), baseline.result()
        score = clients.metrics.calculate(
            active_run.simulation,
            baseline_run.simulation,
            market.start_date,
            market.end_date,
            RISK_FREE,
            context,
        )
        metrics = await timed("metrics", score)
    gathered = Gathered(prices.result(), dividends.result(), active_run, baseline_run, metrics)
    return assemble_answer(request, gathered, REQUEST_ID, int((time.perf_counter() - began) * 1000))
