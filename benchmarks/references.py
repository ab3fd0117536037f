"""``python -m benchmarks.references``: two backtest servers written only to be measured against.

Both answer ``POST /api/backtest`` with the same document as the orchestrator, from the same seven
calls to the same services, over one pooled aiohttp session, with orjson, and nothing else: no
validation, no logging, no error mapping, no deadline, no retries. Anything that goes wrong is a
500. They are what the flow costs in Python before it is made safe:

* ``floor``: the least the flow needs; the dependency graph in plain asyncio (each strategy call
  as soon as prices are in, each simulation as soon as its signals and the dividends are).
* ``staged``: the obvious way; one ``asyncio.gather`` per stage (market data, signals,
  simulations, metrics), each stage waiting for the slowest call of the one before.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import orjson
from aiohttp import web

from orchestrator.backtest.triggers import trigger_sentence
from orchestrator.cli.serve import tune_garbage_collection
from orchestrator.settings import Settings

Document = dict[str, Any]
Post = Callable[[str, Document], Awaitable[Any]]
BASELINE = "buy_and_hold"
SCORES = (
    "total_return_pct",
    "annualized_return_pct",
    "max_drawdown_pct",
    "volatility_annualized_pct",
    "sharpe_ratio",
    "sortino_ratio",
    "calmar_ratio",
    "max_drawdown_duration_days",
)


#: Which service answers which path.
SERVICE_OF = {
    "/prices": "market_data",
    "/dividends": "market_data",
    "/signals": "strategy",
    "/simulate": "portfolio",
    "/calculate": "metrics",
}


def poster(session: aiohttp.ClientSession, urls: dict[str, str]) -> Post:
    async def post(path: str, body: Document) -> Any:
        headers = {"Content-Type": "application/json"}
        url = urls[SERVICE_OF[path]] + path
        async with session.post(url, data=orjson.dumps(body), headers=headers) as answer:
            return orjson.loads(await answer.read())["data"]

    return post


# --- the two shapes of the same flow --------------------------------------------------------------


async def floor(post: Post, request: Document) -> Document:
    market = request["market_params"]
    prices_call = asyncio.create_task(post("/prices", _prices_body(market)))
    dividends_call = asyncio.create_task(post("/dividends", _dividends_body(market)))
    prices = await prices_call
    price_data = _price_data(prices)

    async def run(strategy_type: str, config: Document, params: Document) -> tuple[Any, Any]:
        signals = await post("/signals", _signals_body(strategy_type, config, price_data))
        dividends = await dividends_call
        simulation = await post("/simulate", _simulate_body(params, signals, price_data, dividends))
        return signals, simulation

    (active, baseline) = await asyncio.gather(*(run(*args) for args in _runs(request)))
    metrics = await post("/calculate", _calculate_body(market, active[1], baseline[1]))
    return _answer(request, prices, active, baseline, metrics)


async def staged(post: Post, request: Document) -> Document:
    market = request["market_params"]
    prices, dividends = await asyncio.gather(
        post("/prices", _prices_body(market)), post("/dividends", _dividends_body(market))
    )
    price_data = _price_data(prices)
    runs = _runs(request)
    signals = await asyncio.gather(
        *(post("/signals", _signals_body(kind, config, price_data)) for kind, config, _ in runs)
    )
    simulations = await asyncio.gather(
        *(
            post("/simulate", _simulate_body(params, found, price_data, dividends))
            for (_, _, params), found in zip(runs, signals, strict=True)
        )
    )
    metrics = await post("/calculate", _calculate_body(market, *simulations))
    active, baseline = zip(signals, simulations, strict=True)
    return _answer(request, prices, active, baseline, metrics)


SHAPES = {"floor": floor, "staged": staged}


# --- bodies and the answer, as plain dicts ----------------------------------------------------------


def _prices_body(market: Document) -> Document:
    keys = ("ticker", "market_type", "start_date", "end_date")
    return {**{key: market[key] for key in keys}, "frequency": market.get("frequency", "daily")}


def _dividends_body(market: Document) -> Document:
    return {key: market[key] for key in ("ticker", "start_date", "end_date")}


def _price_data(prices: Document) -> orjson.Fragment:
    """The points every strategy and simulation call sends, serialized once for all four."""
    points = [
        {"date": bar["date"], "adjusted_close": bar.get("adjusted_close") or bar["close"]}
        for bar in prices["prices"]
    ]
    return orjson.Fragment(orjson.dumps(points))


def _runs(request: Document) -> list[tuple[str, Document, Document]]:
    strategy, portfolio = request["strategy_params"], request["portfolio_params"]
    baseline = request["baseline_params"]
    baseline_params = {
        "initial_capital": baseline["initial_capital"],
        "investment_per_trade": baseline["initial_capital"],
        "reinvest_dividends": baseline.get("reinvest_dividends", True),
    }
    return [
        (strategy["strategy_type"], strategy.get("config", {}), portfolio),
        (BASELINE, {}, baseline_params),
    ]


def _signals_body(strategy_type: str, config: Document, price_data: orjson.Fragment) -> Document:
    return {"strategy_type": strategy_type, "config": config, "price_data": price_data}


def _simulate_body(
    params: Document, signals: Document, price_data: orjson.Fragment, dividends: Document
) -> Document:
    return {
        "initial_capital": params["initial_capital"],
        "investment_per_trade": params["investment_per_trade"],
        "reinvest_dividends": params.get("reinvest_dividends", True),
        "transaction_cost_pct": params.get("transaction_cost_pct", 0.0),
        "cash_interest_rate_pct": params.get("cash_interest_rate_pct", 0.0),
        "signals": signals["signals"],
        "price_data": price_data,
        "dividend_data": [
            {"ex_date": d["ex_date"], "amount_per_share": d["amount_per_share"]}
            for d in dividends.get("dividends", [])
        ],
    }


def _calculate_body(market: Document, active: Document, baseline: Document) -> Document:
    def portfolio(simulation: Document) -> Document:
        series, final = simulation["time_series"], simulation["final_state"]
        return {
            "time_series": {"dates": series["dates"], "portfolio_value": series["portfolio_value"]},
            "final_state": {
                "portfolio_value": final["portfolio_value"],
                "total_invested": final["total_invested"],
            },
        }

    return {
        "risk_free_rate_annual": 0.0,
        "start_date": market["start_date"],
        "end_date": market["end_date"],
        "portfolios": {"active": portfolio(active), "baseline": portfolio(baseline)},
    }


def _answer(
    request: Document, prices: Document, active: tuple[Any, Any], baseline: tuple[Any, Any], metrics: Document
) -> Document:
    market = request["market_params"]
    ticker = market["ticker"]
    details = {}
    for signal in reversed(active[0]["signals"]):
        details[signal["date"]] = signal.get("trigger_details")
    trades = [
        {**trade, "ticker": ticker, "trigger": trigger_sentence(details.get(trade["date"]), trade["action"])}
        for trade in active[1].get("trades", [])
    ]
    comparison = dict(metrics.get("comparison") or {})
    comparison["reduced_drawdown_pct"] = comparison.pop("reduced_max_drawdown_pct", None)
    return {
        "success": True,
        "data": {
            "metadata": {
                "ticker": ticker,
                "start_date": market["start_date"],
                "end_date": market["end_date"],
                "strategy_type": request["strategy_params"]["strategy_type"],
                "execution_time_ms": 0,
                "market_type": market["market_type"],
                "frequency": market.get("frequency", "daily"),
                "data_points": len(prices["prices"]),
                "data_source": prices.get("metadata"),
            },
            "active_strategy": {
                "summary": _summary(active[1], metrics["active"]),
                "time_series": active[1]["time_series"],
                "trades": trades,
            },
            "baseline_strategy": {
                "summary": _summary(baseline[1], metrics["baseline"]),
                "time_series": baseline[1]["time_series"],
            },
            "comparison": comparison,
        },
    }


def _summary(simulation: Document, scores: Document) -> Document:
    final = simulation["final_state"]
    return {
        **{name: scores.get(name) for name in SCORES},
        "final_portfolio_value": final["portfolio_value"],
        "total_capital_invested": final["total_invested"],
        "total_trades": len(simulation.get("trades", [])),
        "total_dividends_received": final.get("total_dividends_received"),
        "total_transaction_costs": final.get("total_transaction_costs"),
    }


# --- the server ---------------------------------------------------------------------------------------


def app(shape: str, urls: dict[str, str]) -> web.Application:
    flow = SHAPES[shape]
    session = web.AppKey("session", aiohttp.ClientSession)

    async def pooled_session(application: web.Application) -> Any:
        connector = aiohttp.TCPConnector(limit=0)
        async with aiohttp.ClientSession(connector=connector) as application[session]:
            yield

    async def backtest(request: web.Request) -> web.Response:
        began = time.perf_counter()
        answer = await flow(poster(request.app[session], urls), orjson.loads(await request.read()))
        answer["data"]["metadata"]["execution_time_ms"] = int((time.perf_counter() - began) * 1000)
        return web.Response(body=orjson.dumps(answer), content_type="application/json")

    async def health(_request: web.Request) -> web.Response:
        return web.json_response({"status": "healthy", "service": shape})

    application = web.Application(client_max_size=1024**2)
    application.cleanup_ctx.append(pooled_session)
    application.add_routes([web.post("/api/backtest", backtest), web.get("/health", health)])
    return application


def main(argv: list[str] | None = None) -> int:
    description = __doc__.splitlines()[0]
    parser = argparse.ArgumentParser(prog="python -m benchmarks.references", description=description)
    parser.add_argument("shape", choices=SHAPES)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--services", required=True, metavar="URL", help="where the four services answer")
    parser.add_argument(
        "--service", action="append", default=[], metavar="NAME=URL", help="where one of them answers instead"
    )
    args = parser.parse_args(argv)
    tune_garbage_collection(Settings(_env_file=None).gc_thresholds)  # as the orchestrator does
    web.run_app(
        app(
            args.shape,
            {
                **dict.fromkeys(set(SERVICE_OF.values()), args.services),
                **dict(given.split("=", 1) for given in args.service),
            },
        ),
        host="127.0.0.1",
        port=args.port,
        access_log=None,
        print=lambda *_: None,
        backlog=4096,
        handler_cancellation=True,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
