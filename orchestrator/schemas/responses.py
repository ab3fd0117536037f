"""The answer of ``POST /api/backtest``: docs/contract.md's success schema and the error envelope.

The error envelope is built from these models. The success answer is assembled as plain dicts
around the services' own JSON (``backtest/answer.py``), which is much cheaper; these models are
its description, and ``tests/orchestrator/backtest/test_answer.py`` checks that every answer
validates against them.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from orchestrator.errors import ApiError
from orchestrator.resilience.policy import PolicyConfig


class _Answer(BaseModel):
    model_config = ConfigDict(frozen=True)


class _Open(_Answer):
    """Passed on from a service: fields it adds are kept."""

    model_config = ConfigDict(frozen=True, extra="allow")


class TimeSeries(_Open):
    dates: list[str]
    portfolio_value: list[float]
    holdings_value: list[float]
    cash_balance: list[float]
    cumulative_invested: list[float]
    shares_held: list[float] | None
    cumulative_dividends: list[float] | None


class PriceBar(_Open):
    date: str
    open: float | None
    high: float | None
    low: float | None
    close: float | None
    adjusted_close: float | None
    volume: int | float | None


class Dividend(_Open):
    ex_date: str
    payment_date: str | None
    amount_per_share: float


class Signal(_Open):
    date: str
    action: str
    price: float | None
    trigger_details: dict[str, Any] | None


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


class Fingerprint(_Answer):
    """Hashes of what the answer was computed from (docs/api.md#fingerprint)."""

    request: str
    market_data: str


class DataSource(_Open):
    """Where the prices came from (docs/api.md#provenance); the market-data service's own fields pass on."""

    service: Literal["market_data", "test_data"]
    provider: str | None
    synthetic: bool | None
    calendar: str | None


class MarketMetadata(_Answer):
    """What a backtest's and a comparison's metadata share: the market, the run, the data used."""

    ticker: str
    start_date: str
    end_date: str
    execution_time_ms: int
    request_id: str
    market_type: str
    frequency: str
    data_points: int
    use_test_data: bool
    fingerprint: Fingerprint
    data_source: DataSource


class Metadata(MarketMetadata):
    strategy_type: str


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


def error_envelope(error: ApiError) -> ErrorResponse:
    """The envelope answering ``error``: ``{"success": false, "error": {code, message, details}}``."""
    # Built, not validated: every field is ours and already of its type (validating cost about
    # 10 µs an answer, which counts when a burst is refused).
    body = ErrorBody.model_construct(code=error.code, message=error.message, details=error.details)
    return ErrorResponse.model_construct(success=False, error=body)


class ProgressEvent(_Answer):
    """The data of a stream's ``progress`` event: one downstream call started, done, failed or cached."""

    stage: str
    state: Literal["started", "done", "failed", "cached"]
    elapsed_ms: float
    done: int
    total: int
    # by state (docs/contract.md, section 3)
    duration_ms: float | None = None
    facts: dict[str, int] | None = None
    coalesced: bool | None = None
    error: str | None = None


#: What a health check found of a service, and the state of a service's circuit breaker.
ServiceState = Literal["healthy", "unhealthy", "unreachable", "timeout"]
CircuitState = Literal["closed", "open", "half_open"]


class HealthResponse(_Answer):
    """``GET /api/health``: 200 when every service checked is healthy, else 503."""

    status: Literal["healthy", "degraded", "draining"]
    services: dict[str, ServiceState]
    circuits: dict[str, CircuitState]
    #: Each service's effective policy: the environment's settings over the defaults
    #: (docs/configuration.md, "Per-service policies").
    policies: dict[str, PolicyConfig]


class ReadinessResponse(_Answer):
    """``GET /ready``: whether this process takes backtests now (200 ``ready``), else 503; the
    services behind it are not asked."""

    status: Literal["ready", "draining", "saturated"]
    #: Backtests holding an admission slot, and how many may (the adaptive limit).
    in_flight: int = Field(ge=0)
    limit: int = Field(ge=1)


class LivenessResponse(_Answer):
    """``GET /health``: the process answers; nothing is checked."""

    status: Literal["healthy"]
    service: Literal["orchestrator"]
    #: The orchestrator's version, and the commit it was built from where the build said it
    #: (``GIT_COMMIT``), else null.
    version: str
    commit: str | None
