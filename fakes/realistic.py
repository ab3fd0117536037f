"""Service answers of a realistic size, built once, deterministically, for every benchmark.

The small answers (``fakes/__init__.py``) hold four days of data, which would make every cost look
tiny. These builders give what a two-year daily backtest of a volatile ETF really moves: 504 price
bars, 8 dividends, about 20 buy-the-dip signals against one buy-and-hold signal, and simulations
whose time series hold 504 points in each of their seven columns. The shapes, the envelopes, the
request and the choice of answer (:func:`fakes.call_name`) are the small answers'.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import orjson

from fakes import CHOSEN_BY_BODY, TICKER, call_name, envelope
from fakes import backtest_request as small_backtest_request
from orchestrator.backtest.graph import BASELINE_STRATEGY

TRADING_DAYS = 504  # two years of sessions; LONG_TRADING_DAYS is twenty
LONG_TRADING_DAYS = 5040
DIVIDENDS = 8
ACTIVE_SIGNALS = 20
INITIAL_CAPITAL = 10_000.0
INVESTMENT_PER_TRADE = 100.0

Payload = dict[str, Any]


def trading_days(count: int = TRADING_DAYS, first: date = date(2020, 1, 2)) -> list[str]:
    """``count`` weekdays from ``first``, as ISO dates."""
    days: list[str] = []
    day = first
    while len(days) < count:
        if day.weekday() < 5:
            days.append(day.isoformat())
        day += timedelta(days=1)
    return days


def closes(count: int = TRADING_DAYS, seed: int = 2020) -> list[float]:
    """A seeded random walk with a leveraged ETF's daily volatility (about 4%)."""
    rng, close, series = random.Random(seed), 100.0, []
    for _ in range(count):
        close = max(1.0, close * (1 + rng.gauss(0.001, 0.04)))
        series.append(round(close, 4))
    return series


@dataclass(frozen=True, slots=True)
class Market:
    """The one price history every answer below is consistent with."""

    dates: list[str]
    closes: list[float]

    @classmethod
    def build(cls, days: int = TRADING_DAYS) -> Market:
        """``days`` sessions from the first weekday of the years :func:`backtest_request` asks
        for: every bar in the range asked, as the orchestrator checks."""
        return cls(trading_days(days, date(2022 - _years(days), 1, 2)), closes(days))

    def dip_days(self, count: int = ACTIVE_SIGNALS) -> list[int]:
        """Indexes of the ``count`` largest one-day drops, in date order."""
        changes = [(self.closes[i] / self.closes[i - 1] - 1, i) for i in range(1, len(self.closes))]
        return sorted(index for _change, index in sorted(changes)[:count])

    def change_pct(self, index: int) -> float:
        return round((self.closes[index] / self.closes[index - 1] - 1) * 100, 2)


def prices(market: Market) -> Payload:
    bars = [
        {
            "date": day,
            "open": round(close * 0.995, 4),
            "high": round(close * 1.02, 4),
            "low": round(close * 0.98, 4),
            "close": close,
            "adjusted_close": close,
            "volume": 50_000_000 + index * 1_000,
        }
        for index, (day, close) in enumerate(zip(market.dates, market.closes, strict=True))
    ]
    source = {"provider": "benchmark", "synthetic": True}
    return envelope({"ticker": TICKER, "frequency": "daily", "prices": bars, "metadata": source})


def dividends(market: Market, count: int = DIVIDENDS) -> Payload:
    step = len(market.dates) // count
    items = [
        {
            "ex_date": market.dates[index],
            "payment_date": market.dates[min(index + 10, len(market.dates) - 1)],
            "amount_per_share": round(0.01 + 0.002 * n, 4),
        }
        for n, index in enumerate(range(step // 2, len(market.dates), step))
    ][:count]
    return envelope({"ticker": TICKER, "dividends": items})


def signals(market: Market, strategy_type: str) -> Payload:
    if strategy_type == BASELINE_STRATEGY:
        reason = "Buy and hold: invest on the first trading day"
        items = [_signal(market, 0, {"reason": reason})]
    else:
        items = [
            _signal(
                market,
                index,
                {
                    "price_change_pct": market.change_pct(index),
                    "threshold_pct": -5.0,
                    "lookback_period": "daily",
                },
            )
            for index in market.dip_days()
        ]
    return envelope({"strategy_type": strategy_type, "signals": items, "total_signals": len(items)})


def _signal(market: Market, index: int, details: Payload) -> Payload:
    return {
        "date": market.dates[index],
        "action": "BUY",
        "price": market.closes[index],
        "trigger_details": details,
    }


def simulation(market: Market, kind: str) -> Payload:
    """A small but real simulation: buy on each signal day at the close, hold to the end."""
    buy_days, amount = (
        (market.dip_days(), INVESTMENT_PER_TRADE) if kind == "active" else ([0], INITIAL_CAPITAL)
    )
    columns: dict[str, list[float]] = {name: [] for name in _COLUMNS}
    trades, cash, shares, invested = [], INITIAL_CAPITAL, 0.0, 0.0
    for index, close in enumerate(market.closes):
        if index in buy_days:
            bought = amount / close
            cash, shares, invested = cash - amount, shares + bought, invested + amount
            trades.append(_trade(market, index, bought, amount))
        holdings = shares * close
        for name, value in zip(
            _COLUMNS, (cash + holdings, holdings, cash, shares, invested, 0.0), strict=True
        ):
            columns[name].append(round(value, 6 if name == "shares_held" else 2))
    final = {
        "total_shares": round(shares, 6),
        "cash_balance": round(cash, 2),
        "holdings_value": columns["holdings_value"][-1],
        "portfolio_value": columns["portfolio_value"][-1],
        "total_invested": invested,
        "total_dividends_received": 0.0,
        "total_transaction_costs": 0.0,
    }
    return envelope(
        {"time_series": {"dates": market.dates, **columns}, "trades": trades, "final_state": final}
    )


_COLUMNS = (
    "portfolio_value",
    "holdings_value",
    "cash_balance",
    "shares_held",
    "cumulative_invested",
    "cumulative_dividends",
)


def _trade(market: Market, index: int, shares: float, amount: float) -> Payload:
    return {
        "date": market.dates[index],
        "action": "BUY",
        "ticker": None,
        "shares": round(shares, 6),
        "price": market.closes[index],
        "amount": amount,
        "transaction_cost": 0.0,
    }


def metrics() -> Payload:
    scores = {
        "total_return_pct": 12.5,
        "annualized_return_pct": 6.1,
        "max_drawdown_pct": -18.2,
        "max_drawdown_duration_days": 140,
        "volatility_annualized_pct": 21.4,
        "sharpe_ratio": 0.61,
        "sortino_ratio": 0.9,
        "calmar_ratio": 0.33,
    }
    baseline = {**scores, "total_return_pct": 40.2, "max_drawdown_pct": -71.0, "sharpe_ratio": 0.72}
    comparison = {
        "excess_return_pct": -27.7,
        "excess_annualized_return_pct": -12.3,
        "excess_sharpe": -0.11,
        "reduced_max_drawdown_pct": 52.8,
        "reduced_volatility_pct": 48.1,
    }
    return envelope({"active": scores, "baseline": baseline, "comparison": comparison})


def backtest_request(days: int = TRADING_DAYS, threshold: float = -0.05) -> Payload:
    """The body of ``POST /api/backtest`` for the years the answers cover (the services answer the
    same whatever the dates; ``threshold`` varies the request, not the answers)."""
    return small_backtest_request(
        market_params__start_date=f"{2022 - _years(days)}-01-01",
        market_params__end_date="2022-01-01",
        strategy_params__config__price_change_threshold=threshold,
        portfolio_params__initial_capital=INITIAL_CAPITAL,
        portfolio_params__investment_per_trade=INVESTMENT_PER_TRADE,
        baseline_params__initial_capital=INITIAL_CAPITAL,
    )


def _years(days: int) -> int:
    """The calendar years ``days`` sessions take, at least one."""
    return max(1, round(days / 252))


@dataclass(frozen=True, slots=True)
class Payloads:
    """Every service answer as a JSON-ready envelope, keyed by what selects it."""

    prices: Payload
    dividends: Payload
    signals: dict[str, Payload]  # by kind: "active" or "baseline"
    simulations: dict[str, Payload]  # by kind
    metrics: Payload

    @classmethod
    def build(cls, days: int = TRADING_DAYS) -> Payloads:
        market = Market.build(days)
        return cls(
            prices=prices(market),
            dividends=dividends(market),
            signals={
                "active": signals(market, "buy_the_dip"),
                "baseline": signals(market, BASELINE_STRATEGY),
            },
            simulations={kind: simulation(market, kind) for kind in ("active", "baseline")},
            metrics=metrics(),
        )

    def encoded(self) -> dict[str, bytes]:
        """Each answer serialized once, by the call it answers (:data:`fakes.CALLS`)."""
        return {
            "market_data.prices": orjson.dumps(self.prices),
            "market_data.dividends": orjson.dumps(self.dividends),
            **{f"signals.{kind}": orjson.dumps(body) for kind, body in self.signals.items()},
            **{f"simulate.{kind}": orjson.dumps(body) for kind, body in self.simulations.items()},
            "metrics": orjson.dumps(self.metrics),
        }

    def answerer(self) -> Callable[[str, bytes], bytes]:
        """What answers a request (its path and body) with these, serialized once: for the fake
        services (``fakes/services.py``) and the benchmarks' in-memory transport. Only the bodies an
        answer is chosen by are parsed, as a service parses what it reads."""
        encoded = self.encoded()

        def answer(path: str, body: bytes) -> bytes:
            asked = orjson.loads(body or b"{}") if path in CHOSEN_BY_BODY else {}
            return encoded[call_name(path, asked)]

        return answer
