"""The bodies of ``POST /api/sweep`` and ``POST /api/compare`` (docs/api.md).

Each is a backtest request with something added or replaced, and is validated as one: every setting
a sweep's grid makes, and every strategy of a comparison, must make a valid backtest request, and
its problems are reported under its own name (``grid[3].portfolio_params.initial_capital``).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, ValidationError

from orchestrator.errors import InvalidRequest
from orchestrator.schemas.requests import (
    BaselineParams,
    IsoDate,
    MarketParams,
    PortfolioParams,
    StrategyParams,
    _describe,
    _Strict,
)

#: The active strategy's summary metrics a sweep can rank by.
Metric = Literal[
    "total_return_pct",
    "annualized_return_pct",
    "final_portfolio_value",
    "total_capital_invested",
    "max_drawdown_pct",
    "volatility_annualized_pct",
    "sharpe_ratio",
    "total_trades",
    "sortino_ratio",
    "calmar_ratio",
    "max_drawdown_duration_days",
    "total_dividends_received",
    "total_transaction_costs",
]


def _whole(value: object) -> object:
    """A whole number written with a fraction (``9.0``) is that integer: JSON, and JSON Schema's
    ``integer`` (which the API's document says), do not tell the two apart."""
    if type(value) is float and value.is_integer():
        return int(value)
    return value


#: An integer, strict (``"9"`` and ``true`` are not), as JSON Schema counts integers.
WHOLE = BeforeValidator(_whole)
TradingDays = Annotated[int, Field(ge=2, le=100_000), WHOLE]


class Folds(_Strict):
    """Rolling windows: fold k sweeps ``in_sample_days`` bars and tests the next ``out_of_sample_days``."""

    folds: Annotated[int, Field(ge=1, le=100), WHOLE]
    in_sample_days: TradingDays
    out_of_sample_days: TradingDays


class Split(_Strict):
    """One fold: in-sample before ``split_date``, out-of-sample from it."""

    split_date: IsoDate


class SweepOptions(_Strict):
    """What a sweep adds to a backtest request."""

    grid: Annotated[dict[str, Annotated[list[Any], Field(min_length=1)]], Field(min_length=1)]
    rank_by: Metric = "sharpe_ratio"
    top_k: Annotated[int, Field(ge=1, le=100), WHOLE] = 5
    include_time_series: bool = False
    walk_forward: Folds | Split | None = None


SWEEP_FIELDS = tuple(SweepOptions.model_fields)


class StrategySpec(_Strict):
    name: Annotated[str, Field(min_length=1, max_length=60)]
    strategy_type: Annotated[str, Field(min_length=1)]
    config: dict[str, Any] = Field(default_factory=dict)


class SweepRequest(SweepOptions):
    """The whole body of ``POST /api/sweep``: a backtest request (its ``include`` is not read) with the
    sweep's options. It describes the body for the API's document; :func:`parse_sweep_options` and
    ``research/plan.py`` validate it (the options, then every combination as a backtest request), so
    a field of the base request may also be left out when the grid gives its values."""

    market_params: MarketParams
    strategy_params: StrategyParams
    portfolio_params: PortfolioParams
    baseline_params: BaselineParams
    use_test_data: bool = False


class CompareRequest(_Strict):
    """The whole body of ``POST /api/compare``: a backtest request whose ``strategy_params`` is a list
    of named strategies (distinct names, ``baseline`` not among them, at most
    ``COMPARE__MAX_STRATEGIES``). It describes the body for the API's document;
    ``research/compare.py`` validates it, each strategy as a backtest request."""

    market_params: MarketParams
    strategies: Annotated[list[StrategySpec], Field(min_length=1)]
    portfolio_params: PortfolioParams
    baseline_params: BaselineParams
    use_test_data: bool = False


def parse_sweep_options(document: dict[str, Any]) -> SweepOptions:
    """The sweep's own fields of ``document``, or INVALID_REQUEST listing each problem."""
    options = {name: document[name] for name in SWEEP_FIELDS if name in document}
    try:
        return SweepOptions.model_validate(options)
    except ValidationError as error:
        errors = _describe(error)
        raise InvalidRequest(f"Invalid sweep: {len(errors)} problem(s) found", {"errors": errors}) from None


def parse_strategies(document: dict[str, Any], max_strategies: int) -> list[StrategySpec]:
    """The ``strategies`` of a comparison: 1 to ``max_strategies`` specs with distinct names."""
    given = document.get("strategies")
    if not isinstance(given, list) or not given:
        raise _invalid("strategies", "must be a non-empty list of {name, strategy_type, config}")
    if len(given) > max_strategies:
        raise _invalid("strategies", f"may hold at most {max_strategies} strategies")
    specs, errors = [], []
    for index, item in enumerate(given):
        try:
            specs.append(StrategySpec.model_validate(item))
        except ValidationError as error:
            errors += _describe(error, prefix=(f"strategies[{index}]",))
    if errors:
        raise InvalidRequest(f"Invalid request: {len(errors)} problem(s) found", {"errors": errors})
    names = [spec.name for spec in specs]
    if len(set(names)) != len(names):
        raise _invalid("strategies", "each strategy needs a name of its own")
    return specs


def _invalid(field: str, message: str) -> InvalidRequest:
    return InvalidRequest(
        f"Invalid request: {field} {message}", {"errors": [{"field": field, "message": message}]}
    )
