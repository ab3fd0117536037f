"""``python -m benchmarks.decoding``: reading the services' answers four ways, on the same bytes.

The question this answers is how ``schemas/downstream.py`` should read an answer: every way here
decodes the whole envelope and yields what the orchestrator needs of it, and each is timed at 504
and 5,040 trading days:

* ``orjson.loads``: no checking at all (the floor's way);
* pydantic ``BaseModel`` over ``orjson.loads``: the orchestrator's way before issue 10;
* pydantic ``TypeAdapter`` over ``TypedDict`` s, validating the bytes directly;
* msgspec, typed, from the bytes: what is not declared is skipped, not built.

For prices, each also builds the ``[{date, adjusted_close}]`` points the strategy and portfolio
calls are sent, serialized.

Then what checking each answer against its request costs (issue 19: the checks of what was asked),
per backtest with the cache off: the prices' dates kept sorted as they are read, and each call's
check.
"""

from __future__ import annotations

import sys
import timeit
from typing import Any, NotRequired

import orjson
from pydantic import BaseModel, ConfigDict, TypeAdapter
from typing_extensions import TypedDict

from fakes.realistic import LONG_TRADING_DAYS, TRADING_DAYS, Payloads, backtest_request
from orchestrator.backtest.graph import BASELINE_STRATEGY
from orchestrator.schemas.downstream import (
    DIVIDENDS,
    PRICES,
    SIGNALS,
    SIMULATION,
    dividends_asked,
    prices_asked,
    signals_asked,
)


class _BarTD(TypedDict):
    __pydantic_config__ = ConfigDict(extra="allow")  # type: ignore[misc]
    date: str
    adjusted_close: NotRequired[float | None]
    close: NotRequired[float | None]


class _PricesTD(TypedDict):
    prices: list[_BarTD]
    metadata: NotRequired[dict[str, Any] | None]


class _PricesEnvelopeTD(TypedDict):
    success: bool
    data: _PricesTD


class _BarModel(BaseModel):
    model_config = ConfigDict(extra="allow")
    date: str
    open: float | None = None
    high: float | None = None
    low: float | None = None
    close: float | None = None
    adjusted_close: float | None = None
    volume: int | float | None = None


class _PricesModel(BaseModel):
    prices: list[_BarModel]
    metadata: dict[str, Any] | None = None


class _SeriesTD(TypedDict):
    __pydantic_config__ = ConfigDict(extra="allow")  # type: ignore[misc]
    dates: list[str]
    portfolio_value: list[float]
    holdings_value: list[float]
    cash_balance: list[float]
    cumulative_invested: list[float]


class _SimulationTD(TypedDict):
    time_series: _SeriesTD
    final_state: dict[str, float]
    trades: NotRequired[list[dict[str, Any]]]


class _SimulationEnvelopeTD(TypedDict):
    success: bool
    data: _SimulationTD


_PRICES_TD = TypeAdapter(_PricesEnvelopeTD)
_SIMULATION_TD = TypeAdapter(_SimulationEnvelopeTD)


def _points(bars: list[Any], get: Any) -> bytes:
    return orjson.dumps(
        [{"date": get(bar, "date"), "adjusted_close": get(bar, "adjusted_close")} for bar in bars]
    )


def _item(bar: Any, key: str) -> Any:
    return bar[key]


def _attr(bar: Any, key: str) -> Any:
    return getattr(bar, key)


def ways(raw_prices: bytes, raw_simulation: bytes) -> dict[str, tuple[Any, Any]]:
    """Per way: how it reads the prices (with their points), and a simulation."""
    return {
        "orjson.loads, unchecked": (
            lambda: _points(orjson.loads(raw_prices)["data"]["prices"], _item),
            lambda: orjson.loads(raw_simulation),
        ),
        "pydantic BaseModel": (
            lambda: _points(_PricesModel.model_validate(orjson.loads(raw_prices)["data"]).prices, _attr),
            None,
        ),
        "pydantic TypeAdapter(TypedDict)": (
            lambda: _points(_PRICES_TD.validate_json(raw_prices)["data"]["prices"], _item),
            lambda: _SIMULATION_TD.validate_json(raw_simulation),
        ),
        "msgspec, typed (ours)": (
            lambda: PRICES.read(raw_prices, 200),
            lambda: SIMULATION.read(raw_simulation, 200),
        ),
    }


def checks(payloads: Payloads, days: int) -> dict[str, Any]:
    """Per part of checking one backtest's answers against what it asked: the work, timed alone."""
    market = backtest_request(days)["market_params"]
    raw_prices = orjson.dumps(payloads.prices)
    bars = PRICES.decoder.decode(raw_prices).data.prices
    prices = PRICES.read(raw_prices, 200)
    dividends = DIVIDENDS.read(orjson.dumps(payloads.dividends), 200)
    active, baseline = (
        SIGNALS.read(orjson.dumps(payloads.signals[kind]), 200) for kind in ("active", "baseline")
    )
    ticker, start, end = market["ticker"], market["start_date"], market["end_date"]
    prices_check = prices_asked(ticker, start, end, "daily")
    dividends_check = dividends_asked(ticker, start, end)
    active_check, baseline_check = (
        signals_asked("buy_the_dip", prices),
        signals_asked(BASELINE_STRATEGY, prices),
    )
    return {
        "the bars' dates, sorted (as prices are read)": lambda: sorted([bar.date for bar in bars]),
        "prices: ticker, frequency, range": lambda: prices_check(prices),
        "dividends: ticker, range": lambda: dividends_check(dividends),
        "signals (active): strategy, days": lambda: active_check(active),
        "signals (baseline): strategy, days": lambda: baseline_check(baseline),
    }


def microseconds(work: Any, seconds: float = 0.3) -> float:
    timer = timeit.Timer(work)
    number, _ = timer.autorange()
    runs = max(3, int(seconds / (timer.timeit(number) / number)) if number else 3)
    return min(timer.repeat(3, max(1, runs // 3))) / max(1, runs // 3) * 1e6


def main() -> int:
    for days in (TRADING_DAYS, LONG_TRADING_DAYS):
        payloads = Payloads.build(days)
        raw_prices, raw_simulation = (
            orjson.dumps(payloads.prices),
            orjson.dumps(payloads.simulations["active"]),
        )
        print(
            f"{days} trading days: prices {len(raw_prices) / 1024:.0f} KB, "
            f"a simulation {len(raw_simulation) / 1024:.0f} KB; µs per answer"
        )
        print(f"   {'way':<34}{'prices + points':>16}{'simulation':>12}")
        for name, (prices, simulation) in ways(raw_prices, raw_simulation).items():
            cells = [f"{microseconds(work):>16.0f}" if work else f"{'':>16}" for work in (prices,)]
            cells.append(f"{microseconds(simulation):>12.0f}" if simulation else f"{'-':>12}")
            print(f"   {name:<34}{''.join(cells)}")
        print("   what was asked, checked (µs per backtest, cache off)")
        figures = {name: microseconds(work) for name, work in checks(payloads, days).items()}
        for name, figure in figures.items():
            print(f"   {name:<46}{figure:>8.1f}")
        print(f"   {'in all':<46}{sum(figures.values()):>8.1f}")
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
