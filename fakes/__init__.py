"""Fake services, one set for the tests and the benchmarks (neither imports the other's).

- here: the answers the four services would give, small and consistent (four days), for tests of
  our side; the request of a backtest; which call a request to a service is (:func:`call_name`).
- ``realistic.py``: the same answers at a real backtest's size (504 or 5,040 days), for benchmarks.
- ``services.py``: one aiohttp app answering for the four services with either, with delays, a log
  of what ran, and middlewares to misbehave.

The shapes are docs/contract.md's, ``{"success": true, "data": ...}`` envelopes included.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

#: The calls of one backtest as progress events name them, for scripted streams (the page's and the
#: command line's fake orchestrators); ``tests/orchestrator/backtest/test_graph.py`` checks that the
#: graph makes exactly these.
CALLS = (
    "market_data.prices",
    "market_data.dividends",
    "signals.active",
    "signals.baseline",
    "simulate.active",
    "simulate.baseline",
    "metrics",
)

#: The paths of the services' calls.
SERVICE_PATHS = ("/prices", "/dividends", "/signals", "/simulate", "/calculate")
#: The paths whose body says which answer is asked: the active strategy's or the baseline's.
CHOSEN_BY_BODY = ("/signals", "/simulate")

TICKER = "TQQQ"
DATES = ["2020-01-02", "2020-01-03", "2020-01-06", "2020-01-07"]
CLOSES = [100.0, 94.0, 95.0, 96.0]


def envelope(data: Any) -> dict[str, Any]:
    return {"success": True, "data": data}


def error_envelope(code: str, message: str = "failed", **details: Any) -> dict[str, Any]:
    return {"success": False, "error": {"code": code, "message": message, "details": details}}


def days_asked(body: dict[str, Any]) -> list[str]:
    """The days a market-data request's range gets, as a real service answers only the days asked:
    those of :data:`DATES` in the range (all of them for every test's usual range), or for a range
    that holds none of them (recent days, say) up to four weekdays from its start."""
    start, end = body.get("start_date", DATES[0]), body.get("end_date", DATES[-1])
    inside = [day for day in DATES if start <= day <= end]
    if inside:
        return inside
    days, day = [], date.fromisoformat(start)
    while len(days) < len(DATES) and day.isoformat() <= end:
        if day.weekday() < 5:
            days.append(day.isoformat())
        day += timedelta(days=1)
    return days


def prices(n: int = len(DATES), ticker: str = TICKER, days: list[str] = DATES) -> dict[str, Any]:
    bars = [
        # ints where floats are expected, and an extra field, as real services send
        {
            "date": d,
            "open": int(c),
            "high": c + 1,
            "low": c - 1,
            "close": c,
            "adjusted_close": c,
            "volume": 1000,
            "vwap": c,
        }
        for d, c in zip(days[:n], CLOSES, strict=False)
    ]
    return envelope({"ticker": ticker, "frequency": "daily", "prices": bars})


def dividends(paying: bool = True, ticker: str = TICKER, days: list[str] = DATES) -> dict[str, Any]:
    """One dividend, on the third day (2020-01-06), or the last when there are fewer."""
    ex_date = days[min(2, len(days) - 1)] if days else None
    items = (
        [{"ex_date": ex_date, "payment_date": "2020-01-20", "amount_per_share": 0.5}]
        if paying and ex_date
        else []
    )
    return envelope({"ticker": ticker, "dividends": items})


def signals(strategy_type: str = "buy_the_dip", days: list[str] = DATES) -> dict[str, Any]:
    """On days of the prices sent (``days``), as a real strategy signals: buy and hold on the first,
    buy the dip on the second (2020-01-03), or the only one."""
    if strategy_type == "buy_and_hold":
        items = [
            {
                "date": days[0],
                "action": "BUY",
                "price": CLOSES[0],
                "trigger_details": {"reason": "Buy and hold: invest on the first trading day"},
            }
        ]
    else:
        items = [
            {
                "date": days[min(1, len(days) - 1)],
                "action": "BUY",
                "price": CLOSES[1],
                "trigger_details": {
                    "price_change_pct": -6.0,
                    "threshold_pct": -5.0,
                    "lookback_period": "daily",
                },
            }
        ]
    return envelope({"strategy_type": strategy_type, "signals": items, "total_signals": len(items)})


def simulation(kind: str = "active") -> dict[str, Any]:
    if kind == "active":
        trade = {
            "date": DATES[1],
            "action": "BUY",
            "ticker": None,
            "shares": 1.063830,
            "price": 94.0,
            "amount": 100.0,
            "transaction_cost": 0.0,
        }
        values = [10000.0, 10000.0, 10001.06, 10002.13]
        final_value, invested = 10002.13, 100.0
    else:
        trade = {
            "date": DATES[0],
            "action": "BUY",
            "ticker": None,
            "shares": 100.0,
            "price": 100.0,
            "amount": 10000.0,
            "transaction_cost": 0.0,
        }
        values = [10000.0, 9400.0, 9550.0, 9600.0]
        final_value, invested = 9600, 10000  # ints, as some services send
    return envelope(
        {
            "time_series": {
                "dates": DATES,
                "portfolio_value": values,
                "holdings_value": values,
                "cash_balance": [0.0] * 4,
                "shares_held": [1.0] * 4,
                "cumulative_invested": [invested] * 4,
                "cumulative_dividends": [0.0] * 4,
            },
            "trades": [trade],
            "final_state": {
                "total_shares": 1.0,
                "cash_balance": 0.0,
                "holdings_value": final_value,
                "portfolio_value": final_value,
                "total_invested": invested,
                "total_dividends_received": 0.5,
                "total_transaction_costs": 0.0,
            },
        }
    )


ACTIVE_SCORES = {
    "total_return_pct": 0.02,
    "annualized_return_pct": 1.9,
    "max_drawdown_pct": -0.5,
    "max_drawdown_duration_days": 3,
    "volatility_annualized_pct": 1.2,
    "sharpe_ratio": 1.1,
    "sortino_ratio": 1.5,
    "calmar_ratio": 3.8,
}
BASELINE_SCORES = {
    "total_return_pct": -4.0,
    "annualized_return_pct": -90.0,
    "max_drawdown_pct": -6.0,
    "max_drawdown_duration_days": 5,
    "volatility_annualized_pct": 60.0,
    "sharpe_ratio": -2.5,
    "sortino_ratio": -3.0,
    "calmar_ratio": -15.0,
}
COMPARISON = {
    "excess_return_pct": 4.02,
    "excess_annualized_return_pct": 91.9,
    "excess_sharpe": 3.6,
    "reduced_max_drawdown_pct": 5.5,
    "reduced_volatility_pct": 58.8,
}


def metrics(with_comparison: bool = True) -> dict[str, Any]:
    data: dict[str, Any] = {"active": ACTIVE_SCORES, "baseline": BASELINE_SCORES}
    if with_comparison:
        data["comparison"] = COMPARISON
    return envelope(data)


def is_baseline_simulation(body: dict[str, Any]) -> bool:
    """The baseline is simulated all in on day one: one trade of the whole capital."""
    return body["investment_per_trade"] == body["initial_capital"]


def call_name(path: str, body: dict[str, Any]) -> str:
    """Which of :data:`CALLS` a request to a service is, from its path and body (read only for the
    paths of :data:`CHOSEN_BY_BODY`)."""
    if path == "/signals":
        return "signals.baseline" if body["strategy_type"] == "buy_and_hold" else "signals.active"
    if path == "/simulate":
        return "simulate.baseline" if is_baseline_simulation(body) else "simulate.active"
    return {"/prices": "market_data.prices", "/dividends": "market_data.dividends", "/calculate": "metrics"}[
        path
    ]


def answer(path: str, body: dict[str, Any]) -> dict[str, Any]:
    """What the services answer to a request of a backtest, as every fake service does."""
    match path:
        case "/prices":  # for the ticker and the days asked, as a real service answers
            return prices(ticker=body.get("ticker", TICKER), days=days_asked(body))
        case "/dividends":
            return dividends(ticker=body.get("ticker", TICKER), days=days_asked(body))
        case "/signals":
            sent = [point["date"] for point in body.get("price_data") or []]
            return signals(body["strategy_type"], sent or DATES)
        case "/simulate":
            return simulation("baseline" if is_baseline_simulation(body) else "active")
        case "/calculate":
            return metrics()
    raise LookupError(f"no fake service answers {path}")


#: What the fake market-data service knows for ``GET /tickers/search``.
TICKERS = (
    {"symbol": "TQQQ", "name": "ProShares UltraPro QQQ", "kind": "ETF", "exchange": "NASDAQ"},
    {"symbol": "SQQQ", "name": "ProShares UltraPro Short QQQ", "kind": "ETF", "exchange": "NASDAQ"},
    {"symbol": "AAPL", "name": "Apple Inc.", "kind": "Stock", "exchange": "NASDAQ"},
    {"symbol": "^GSPC", "name": "S&P 500", "kind": "Index", "exchange": None},
)


def ticker_search(query: str, limit: int = 10) -> dict[str, Any]:
    """The market-data service's answer to ``GET /tickers/search``: a symbol or name holding ``query``."""
    text = query.strip().lower()
    found = [t for t in TICKERS if text in t["symbol"].lower() or text in t["name"].lower()]
    return envelope({"query": query.strip(), "results": found[:limit]})


def backtest_request(**changes: Any) -> dict[str, Any]:
    """The body of ``POST /api/backtest`` the answers fit, with ``changes`` by path, ``__`` between
    the names (``market_params__ticker="SQQQ"``)."""
    body: dict[str, Any] = {
        "market_params": {
            "ticker": TICKER,
            "market_type": "ETF",
            "start_date": "2020-01-01",
            "end_date": "2020-01-08",
            "frequency": "daily",
        },
        "strategy_params": {
            "strategy_type": "buy_the_dip",
            "config": {"price_change_threshold": -0.05, "lookback_period": "daily"},
        },
        "portfolio_params": {
            "initial_capital": 10000,
            "investment_per_trade": 100,
            "reinvest_dividends": True,
            "transaction_cost_pct": 0,
            "cash_interest_rate_pct": 0,
        },
        "baseline_params": {"initial_capital": 10000, "reinvest_dividends": True},
    }
    for path, value in changes.items():
        *parents, leaf = path.split("__")
        target = body
        for parent in parents:
            target = target[parent]
        target[leaf] = value
    return body
