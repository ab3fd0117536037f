"""The whole app in front of a market-data service that writes a second, unsolicited answer (ticker
POISON) 50 ms after each real one, on the same kept-alive connection: no backtest is answered with
another request's data, with the cache on or off.

Before the guard (``clients/own_answers.py``) and the checks of what was asked
(``schemas/downstream.py``), about a third of such backtests answered 200 with POISON's prices.
The stray that lands on an idle connection is never read; the one that lands after a request went
out is read as its answer and refused (502). ``benchmarks.edges poison`` gives the same figures
against real processes.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import pytest
from aiohttp import web

import fakes
from orchestrator.web.app import create_app
from tests.orchestrator.clients.stray_service import StrayService, price_of
from tests.orchestrator.conftest import make_settings

BACKTESTS, CLIENTS, TICKERS = 100, 4, 50


def priced_services() -> web.Application:
    """Strategy, portfolio and metrics as the fakes answer, but with the prices they were sent: each
    signal and each trade at the price of its day, so a trade shows whose prices it was made on."""

    async def signals(request: web.Request) -> web.Response:
        body = await request.json()
        answer = fakes.answer("/signals", body)
        for signal in answer["data"]["signals"]:
            signal["price"] = _price_on(body["price_data"], signal["date"])
        return web.json_response(answer)

    async def simulate(request: web.Request) -> web.Response:
        body = await request.json()
        answer = fakes.answer("/simulate", body)
        [signal, *_] = body["signals"]
        for trade in answer["data"]["trades"]:
            trade["date"], trade["price"] = signal["date"], _price_on(body["price_data"], signal["date"])
        return web.json_response(answer)

    async def calculate(_request: web.Request) -> web.Response:
        return web.json_response(fakes.metrics())

    app = web.Application()
    app.add_routes(
        [web.post("/signals", signals), web.post("/simulate", simulate), web.post("/calculate", calculate)]
    )
    return app


def _price_on(points: list[dict[str, Any]], day: str) -> float:
    return float(next(point["adjusted_close"] for point in points if point["date"] == day))


def outcome(status: int, document: dict[str, Any], ticker: str) -> str:
    """``own``, ``poisoned`` (its metadata, prices or trades show another ticker's), ``502`` or
    ``other``."""
    if status == 502:
        return "502"
    if status != 200:
        return "other"
    data, price = document["data"], price_of(ticker)
    said = data["metadata"]["ticker"], data["metadata"]["data_source"].get("asked")
    prices = {bar["adjusted_close"] for bar in data["market_data"]["prices"]}
    trades = {(trade["ticker"], trade["price"]) for trade in data["active_strategy"]["trades"]}
    own = said == (ticker, ticker) and prices == {price} and trades <= {(ticker, price)} and trades
    return "own" if own else "poisoned"


@pytest.mark.parametrize("cache", [True, False], ids=["cache-on", "cache-off"])
async def test_no_backtest_is_answered_with_another_requests_data(aiohttp_server, orchestrator_client, cache):
    async with StrayService(stray_s=0.05) as market:
        others = await aiohttp_server(priced_services())
        other_url = str(others.make_url("")).rstrip("/")
        settings = make_settings(
            market_data_url=market.url,
            strategy_url=other_url,
            portfolio_url=other_url,
            metrics_url=other_url,
            cache={"enabled": cache},
        )
        client = await orchestrator_client(create_app(settings))
        tickers = iter([f"P{index % TICKERS:03d}" for index in range(BACKTESTS)])
        outcomes: Counter[str] = Counter()

        async def one_client() -> None:
            for ticker in tickers:
                body = fakes.backtest_request(market_params__ticker=ticker, include=["market_data"])
                response = await client.post("/api/backtest", json=body)
                outcomes[outcome(response.status, await response.json(), ticker)] += 1

        await asyncio.gather(*(one_client() for _ in range(CLIENTS)))
        print(f"cache {'on' if cache else 'off'}: {dict(outcomes)}; strays written: {market.strays}")
        assert outcomes["poisoned"] == 0
        assert outcomes["own"] + outcomes["502"] == BACKTESTS
        assert market.strays > 0 and market.connections > 1  # strays were written, and met
