"""What the four services answer (the ``data`` of their envelopes), as we rely on it.

Lenient where docs/contract.md says services are untidy: ints where floats are expected, extra fields
kept (time series and summaries pass them on), and only what we use is required. A ``data`` that
fails these models is an answer outside the contract, which the client layer reports as a 502.
"""

from __future__ import annotations

from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, model_validator


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class _Open(BaseModel):
    """Keeps fields it does not name, so they can be passed on to our callers."""

    model_config = ConfigDict(extra="allow", frozen=True)


# market data


class PriceBar(_Open):
    date: str
    open: float | None = None
    high: float | None = None
    low: float | None = None
    close: float | None = None
    adjusted_close: float | None = None
    volume: int | float | None = None

    @property
    def price(self) -> float:
        """The adjusted close, or the close where a service gives no adjusted close."""
        return self.adjusted_close if self.adjusted_close is not None else self.close  # type: ignore[return-value]


class Prices(_Lenient):
    ticker: str | None = None
    frequency: str | None = None
    prices: list[PriceBar]
    # where the prices come from (e.g. the reference service's ``synthetic: true``), passed on
    metadata: dict[str, Any] | None = None
    _points_json: orjson.Fragment | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _every_bar_has_a_price(self) -> Prices:
        # One pass after validation: a per-bar Python validator would cost more than the rest of it.
        missing = [bar.date for bar in self.prices if bar.adjusted_close is None and bar.close is None]
        if missing:
            raise ValueError(f"no adjusted_close or close on {missing[0]}")
        return self

    def points_json(self) -> orjson.Fragment:
        """``[{date, adjusted_close}]`` as JSON, built once: four calls send it downstream."""
        if self._points_json is None:
            points = [{"date": bar.date, "adjusted_close": bar.price} for bar in self.prices]
            self._points_json = orjson.Fragment(orjson.dumps(points))
        return self._points_json


class Dividend(_Open):
    ex_date: str
    payment_date: str | None = None
    amount_per_share: float


class Dividends(_Lenient):
    ticker: str | None = None
    dividends: list[Dividend] = Field(default_factory=list)


# strategy


class Signal(_Open):
    date: str
    action: str
    price: float | None = None
    trigger_details: dict[str, Any] | None = None


class Signals(_Lenient):
    strategy_type: str | None = None
    signals: list[Signal]
    total_signals: int | None = None


# portfolio


class TimeSeries(_Open):
    dates: list[str]
    portfolio_value: list[float]
    holdings_value: list[float]
    cash_balance: list[float]
    cumulative_invested: list[float]
    shares_held: list[float] | None = None
    cumulative_dividends: list[float] | None = None


class Trade(_Lenient):
    date: str
    action: str
    ticker: str | None = None
    shares: float
    price: float
    amount: float
    transaction_cost: float | None = None


class FinalState(_Open):
    portfolio_value: float
    total_invested: float
    total_shares: float | None = None
    cash_balance: float | None = None
    holdings_value: float | None = None
    total_dividends_received: float | None = None
    total_transaction_costs: float | None = None


class Simulation(_Lenient):
    time_series: TimeSeries
    trades: list[Trade] = Field(default_factory=list)
    final_state: FinalState


# metrics


class Scores(_Open):
    total_return_pct: float | None = None
    annualized_return_pct: float | None = None
    max_drawdown_pct: float | None = None
    max_drawdown_duration_days: int | float | None = None
    volatility_annualized_pct: float | None = None
    sharpe_ratio: float | None = None
    sortino_ratio: float | None = None
    calmar_ratio: float | None = None


class Metrics(_Lenient):
    active: Scores
    baseline: Scores
    comparison: dict[str, Any] | None = None
