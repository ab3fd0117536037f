"""A backtest end to end over loopback sockets, against the same seven calls made directly.

Everything runs in this one process, on one event loop, on 127.0.0.1:

* **fake services**: one aiohttp app answering ``/prices``, ``/dividends``, ``/signals``,
  ``/simulate`` and ``/calculate`` at once, with realistic answers serialized once up front (it
  still reads and parses the bodies it needs to pick an answer, as a real service would);
* **orchestrator**: the real app (``create_app``) with every service URL pointed at the fakes,
  served by ``AppRunner``/``TCPSite`` with ``handler_cancellation=True`` as ``orchestrator serve``;
* **client**: an aiohttp session sending ``POST /api/backtest`` at a fixed concurrency.

The **reference** is the same client doing the backtest's seven calls itself, in plain asyncio, in
the same dependency order, passing plain dicts (no validation, no answer to assemble): what the
backtest costs without the orchestrator. CPU time is the whole process's (``time.process_time``),
so both figures include the fake services and the client; their difference is the orchestrator.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import orjson
from aiohttp import web

from benchmarks.fixtures import Payloads, backtest_request, kind_of_signals, kind_of_simulation
from orchestrator.backtest.graph import BASELINE_STRATEGY
from orchestrator.registry import SERVICES
from orchestrator.settings import Settings
from orchestrator.web.app import create_app

JSON = {"Content-Type": "application/json"}

Backtest = Callable[[], Awaitable[None]]


# --- the servers -------------------------------------------------------------------------------


def fake_services(answers: dict[str, bytes]) -> web.Application:
    """The four services in one app, answering at once with pre-serialized envelopes."""

    def fixed(key: str) -> Callable[[web.Request], Awaitable[web.Response]]:
        async def handler(_request: web.Request) -> web.Response:
            return web.Response(body=answers[key], content_type="application/json")

        return handler

    def chosen(
        path: str, kind_of: Callable[[dict[str, Any]], str]
    ) -> Callable[[web.Request], Awaitable[web.Response]]:
        async def handler(request: web.Request) -> web.Response:
            body = orjson.loads(await request.read())
            return web.Response(body=answers[f"{path}:{kind_of(body)}"], content_type="application/json")

        return handler

    app = web.Application(client_max_size=16 * 1024 * 1024)
    app.add_routes(
        [
            web.post("/prices", fixed("/prices")),
            web.post("/dividends", fixed("/dividends")),
            web.post("/signals", chosen("/signals", kind_of_signals)),
            web.post("/simulate", chosen("/simulate", kind_of_simulation)),
            web.post("/calculate", fixed("/calculate")),
        ]
    )
    return app


@asynccontextmanager
async def serving(app: web.Application, **runner_options: Any) -> AsyncIterator[str]:
    """Serve ``app`` on a free loopback port; yield its base URL."""
    runner = web.AppRunner(app, access_log=None, **runner_options)
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        host, port = runner.addresses[0][:2]
        yield f"http://{host}:{port}"
    finally:
        await runner.cleanup()


def orchestrator_settings(services_url: str) -> Settings:
    urls = {entry.url_setting: services_url for entry in SERVICES}
    return Settings(**urls, log_level="WARNING")


# --- one backtest, two ways --------------------------------------------------------------------


def through_orchestrator(session: aiohttp.ClientSession, orchestrator_url: str) -> Backtest:
    body = orjson.dumps(backtest_request())

    async def backtest() -> None:
        async with session.post(orchestrator_url + "/api/backtest", data=body, headers=JSON) as answer:
            raw = await answer.read()
        _check(answer.status, raw)

    return backtest


def direct(session: aiohttp.ClientSession, services_url: str) -> Backtest:
    """The seven calls without the orchestrator: prices and dividends at once, each strategy on prices,
    each simulation on its signals and the dividends, metrics on both simulations."""
    request = backtest_request()
    market, portfolio = request["market_params"], request["portfolio_params"]
    capital = request["baseline_params"]["initial_capital"]

    async def call(path: str, body: dict[str, Any]) -> Any:
        async with session.post(services_url + path, data=orjson.dumps(body), headers=JSON) as answer:
            raw = await answer.read()
        return _check(answer.status, raw)["data"]

    async def fetch_prices() -> tuple[Any, orjson.Fragment]:
        prices = await call("/prices", market)
        points = [{"date": bar["date"], "adjusted_close": bar["adjusted_close"]} for bar in prices["prices"]]
        return prices, orjson.Fragment(orjson.dumps(points))

    async def backtest() -> None:
        async with asyncio.TaskGroup() as group:
            prices = group.create_task(fetch_prices())
            dividends = group.create_task(
                call("/dividends", _keys(market, "ticker", "start_date", "end_date"))
            )

            async def run(strategy: dict[str, Any], simulation: dict[str, Any]) -> Any:
                _bars, points = await prices
                signals = await call("/signals", {**strategy, "price_data": points})
                dividend_data = [
                    _keys(d, "ex_date", "amount_per_share") for d in (await dividends)["dividends"]
                ]
                body = {**simulation, "signals": signals["signals"], "price_data": points}
                return await call("/simulate", {**body, "dividend_data": dividend_data})

            active = group.create_task(run(request["strategy_params"], portfolio))
            baseline_params = {"initial_capital": capital, "investment_per_trade": capital}
            baseline = group.create_task(
                run({"strategy_type": BASELINE_STRATEGY, "config": {}}, baseline_params)
            )
        portfolios = {"active": _portfolio(active.result()), "baseline": _portfolio(baseline.result())}
        await call("/calculate", {**_keys(market, "start_date", "end_date"), "portfolios": portfolios})

    return backtest


def _keys(document: dict[str, Any], *names: str) -> dict[str, Any]:
    return {name: document[name] for name in names}


def _portfolio(simulation: dict[str, Any]) -> dict[str, Any]:
    return {
        "time_series": _keys(simulation["time_series"], "dates", "portfolio_value"),
        "final_state": _keys(simulation["final_state"], "portfolio_value", "total_invested"),
    }


def _check(status: int, raw: bytes) -> Any:
    if status != 200:
        raise RuntimeError(f"HTTP {status}: {raw[:300]!r}")
    document = orjson.loads(raw)
    if not document.get("success"):
        raise RuntimeError(f"unsuccessful answer: {raw[:300]!r}")
    return document


# --- measuring ---------------------------------------------------------------------------------


@dataclass
class Sample:
    """Requests driven at one concurrency, pooled over rounds."""

    latencies_s: list[float] = field(default_factory=list)
    wall_s: float = 0.0
    cpu_s: float = 0.0

    @property
    def requests(self) -> int:
        return len(self.latencies_s)

    @property
    def per_second(self) -> float:
        return self.requests / self.wall_s

    @property
    def cpu_ms(self) -> float:
        return self.cpu_s * 1000 / self.requests

    def latency_ms(self, quantile: float) -> float:
        ordered = sorted(self.latencies_s)
        return ordered[min(len(ordered) - 1, int(quantile * len(ordered)))] * 1000


async def drive(backtest: Backtest, requests: int, concurrency: int, sample: Sample) -> None:
    """Send ``requests`` backtests from ``concurrency`` workers; add what was seen to ``sample``."""
    remaining = requests

    async def worker() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            began = time.perf_counter()
            await backtest()
            sample.latencies_s.append(time.perf_counter() - began)

    wall, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    sample.wall_s += time.perf_counter() - wall
    sample.cpu_s += time.process_time() - cpu


@dataclass(frozen=True, slots=True)
class EndToEndFigures:
    """``samples[(path, concurrency)]`` with path ``orchestrator`` or ``direct``."""

    samples: dict[tuple[str, int], Sample]
    concurrencies: tuple[int, ...]


async def measure(requests: int, concurrencies: tuple[int, ...] = (1, 8), rounds: int = 2) -> EndToEndFigures:
    """``requests`` backtests per path and concurrency, in ``rounds`` alternating rounds, after a warm-up."""
    samples = {(path, c): Sample() for path in ("orchestrator", "direct") for c in concurrencies}
    async with serving(fake_services(Payloads.build().encoded())) as services_url:
        app = create_app(orchestrator_settings(services_url))
        async with serving(app, handler_cancellation=True) as orchestrator_url, _client() as session:
            paths = {
                "orchestrator": through_orchestrator(session, orchestrator_url),
                "direct": direct(session, services_url),
            }
            for backtest in paths.values():
                await drive(backtest, 2 * max(concurrencies), max(concurrencies), Sample())
            per_round = max(1, requests // rounds)
            for _ in range(rounds):
                for concurrency in concurrencies:
                    for path, backtest in paths.items():
                        await drive(backtest, per_round, concurrency, samples[(path, concurrency)])
    return EndToEndFigures(samples, concurrencies)


@asynccontextmanager
async def _client() -> AsyncIterator[aiohttp.ClientSession]:
    connector = aiohttp.TCPConnector(limit=100, keepalive_timeout=30)
    async with aiohttp.ClientSession(connector=connector) as session:
        yield session
