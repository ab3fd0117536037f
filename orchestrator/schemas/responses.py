"""The answer of ``POST /api/backtest``: docs/contract.md's success schema and the error envelope."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from orchestrator.schemas.downstream import Dividend, PriceBar, Signal, TimeSeries


class _Answer(BaseModel):
    model_config = ConfigDict(frozen=True)


class Summary(_Answer):
    total_return_pct: float | None
    annualized_return_pct: float | None
    final_portfolio_value: float
    total_capital_invested: float
    max_drawdown_pct: float | None
    volatility_annualized_pct: float | None
    sharpe_ratio: float | None
    total_trades: int
    # extras the services give, passed on
    sortino_ratio: float | None = None
    calmar_ratio: float | None = None
    max_drawdown_duration_days: int | float | None = None
    total_dividends_received: float | None = None
    total_transaction_costs: float | None = None


class Trade(_Answer):
    date: str
    action: str
    ticker: str
    shares: float
    price: float
    amount: float
    transaction_cost: float | None = None
    trigger: str


class ActiveResult(_Answer):
    summary: Summary
    time_series: TimeSeries
    trades: list[Trade]


class BaselineResult(_Answer):
    summary: Summary
    time_series: TimeSeries


class Comparison(_Answer):
    model_config = ConfigDict(frozen=True, extra="allow")
    excess_return_pct: float | None
    excess_sharpe: float | None
    reduced_drawdown_pct: float | None


class Metadata(_Answer):
    ticker: str
    start_date: str
    end_date: str
    strategy_type: str
    execution_time_ms: int
    request_id: str
    market_type: str
    frequency: str
    data_points: int
    use_test_data: bool
    # the market-data service's own metadata (provider, synthetic or not), when it gives one
    data_source: dict[str, Any] | None = Field(default=None, exclude_if=lambda value: value is None)


class MarketData(_Answer):
    prices: list[PriceBar]
    dividends: list[Dividend]


class BacktestData(_Answer):
    metadata: Metadata
    active_strategy: ActiveResult
    baseline_strategy: BaselineResult
    comparison: Comparison
    # extras asked for with ``include``; absent, not null, when not asked for
    market_data: MarketData | None = Field(default=None, exclude_if=lambda value: value is None)
    signals: list[Signal] | None = Field(default=None, exclude_if=lambda value: value is None)


class BacktestResponse(_Answer):
    success: Literal[True] = True
    data: BacktestData


class ErrorBody(_Answer):
    code: str
    message: str
    details: dict[str, Any]


class ErrorResponse(_Answer):
    success: Literal[False] = False
    error: ErrorBody
