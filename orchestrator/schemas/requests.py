"""The body of ``POST /api/backtest``, validated to the field rules of docs/contract.md.

Types are strict (a string is not a number, 1 is not ``true``) so a frontend bug shows up as a
clear INVALID_REQUEST rather than a silent coercion. Dates stay strings here: a malformed or
unreal date is INVALID_DATE_RANGE, not INVALID_REQUEST, and :func:`parse_backtest` checks them.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

from orchestrator.errors import InvalidDateRange, InvalidRequest
from orchestrator.limits import RequestLimits

_TICKER = re.compile(r"[A-Za-z0-9.\-^=]{1,15}")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _check_ticker(value: str) -> str:
    if not _TICKER.fullmatch(value):
        raise ValueError("must be 1-15 characters: letters, digits, '.', '-', '^' or '='")
    return value


# ``json_schema_extra`` only describes (for the API's document, ``web/openapi/``): the checks are ours.
# The pattern ends with "nothing after" rather than ``$``, which in Python's ``re`` (most validators')
# also matches before a final newline: "TQQQ\n" is no ticker.
Ticker = Annotated[
    str,
    AfterValidator(_check_ticker),
    Field(json_schema_extra={"pattern": f"^{_TICKER.pattern}(?![\\s\\S])"}),
]
#: A date as ``YYYY-MM-DD``, kept a string: :func:`parse_backtest` checks it (INVALID_DATE_RANGE).
#: The document says ``format: date`` (RFC 3339's full-date: a real date), and, as RFC 3339 allows
#: the year 0000 and Python's dates do not, a pattern without it.
IsoDate = Annotated[
    str,
    Field(json_schema_extra={"format": "date", "pattern": "^(?!0000)[0-9]{4}-[0-9]{2}-[0-9]{2}(?![\\s\\S])"}),
]
Positive = Annotated[float, Field(gt=0, allow_inf_nan=False)]
NonNegative = Annotated[float, Field(ge=0, allow_inf_nan=False)]
Frequency = Literal["daily", "weekly", "monthly"]


class _Strict(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)


class MarketParams(_Strict):
    ticker: Ticker
    market_type: Annotated[str, Field(min_length=1)]
    start_date: IsoDate
    end_date: IsoDate
    frequency: Frequency = "daily"


class StrategyParams(_Strict):
    strategy_type: Annotated[str, Field(min_length=1)]
    config: dict[str, Any] = Field(default_factory=dict)


class BuyTheDipConfig(_Strict):
    """The parts of a buy_the_dip config that we check; the whole config goes downstream as given."""

    model_config = ConfigDict(strict=True, extra="allow")
    price_change_threshold: Annotated[float, Field(gt=-1, lt=0, allow_inf_nan=False)] | None = None
    lookback_period: Frequency | None = None


class PortfolioParams(_Strict):
    initial_capital: Positive
    investment_per_trade: Positive
    reinvest_dividends: bool = True
    transaction_cost_pct: NonNegative = 0.0
    cash_interest_rate_pct: NonNegative = 0.0


class BaselineParams(_Strict):
    initial_capital: Positive
    reinvest_dividends: bool = True


class BacktestRequest(_Strict):
    market_params: MarketParams
    strategy_params: StrategyParams
    portfolio_params: PortfolioParams
    baseline_params: BaselineParams
    use_test_data: bool = False
    include: list[Literal["market_data", "signals"]] = Field(default_factory=list)


def parse_backtest(document: Any, limits: RequestLimits | None = None) -> BacktestRequest:
    """Validate a decoded JSON body; raise INVALID_REQUEST listing every problem, or INVALID_DATE_RANGE.

    ``limits`` bound what one request may ask for: amounts, percentages, the date range.
    """
    limits = limits or RequestLimits()
    if not isinstance(document, dict):
        raise InvalidRequest("The request body must be a JSON object", {"errors": []})
    errors: list[dict[str, str]] = []
    request = None
    try:
        request = BacktestRequest.model_validate(document)
    except ValidationError as error:
        errors += _describe(error)
    errors += _config_errors(document)
    if request is not None:
        errors += _bound_errors(request, limits)
    if errors:
        raise InvalidRequest(f"Invalid request: {len(errors)} problem(s) found", {"errors": errors})
    assert request is not None
    _check_dates(request.market_params, limits.max_range_days)
    return request


def _bound_errors(request: BacktestRequest, limits: RequestLimits) -> list[dict[str, str]]:
    """Each number above what one backtest may ask for, as a field problem."""
    portfolio, baseline = request.portfolio_params, request.baseline_params
    amounts = {
        "portfolio_params.initial_capital": portfolio.initial_capital,
        "portfolio_params.investment_per_trade": portfolio.investment_per_trade,
        "baseline_params.initial_capital": baseline.initial_capital,
    }
    percents = {
        "portfolio_params.transaction_cost_pct": portfolio.transaction_cost_pct,
        "portfolio_params.cash_interest_rate_pct": portfolio.cash_interest_rate_pct,
    }
    return [
        {"field": field, "message": f"must be at most {bound:g}"}
        for values, bound in ((amounts, limits.max_amount), (percents, limits.max_percent))
        for field, value in values.items()
        if value > bound
    ]


def _config_errors(document: dict[str, Any]) -> list[dict[str, str]]:
    strategy = document.get("strategy_params")
    if not isinstance(strategy, dict) or strategy.get("strategy_type") != "buy_the_dip":
        return []
    config = strategy.get("config", {})
    if not isinstance(config, dict):
        return []  # already reported as the wrong type of strategy_params.config
    try:
        BuyTheDipConfig.model_validate(config)
    except ValidationError as error:
        return _describe(error, prefix=("strategy_params", "config"))
    return []


def _describe(error: ValidationError, prefix: tuple[str, ...] = ()) -> list[dict[str, str]]:
    return [
        {"field": ".".join(str(part) for part in (*prefix, *item["loc"])), "message": _message(item)}
        for item in error.errors(include_url=False, include_context=False, include_input=False)
    ]


#: Our words for the problems whose usual text names a Python type.
_MESSAGES = {
    "model_type": "must be an object",
    "model_attributes_type": "must be an object",
    "dict_type": "must be an object",
    "list_type": "must be a list",
    "string_type": "must be a string",
    "bool_type": "must be true or false",
    "float_type": "must be a number",
    "int_type": "must be a whole number",
    "finite_number": "must be a finite number",
}


def _message(item: Any) -> str:
    """What is wrong with a field, in the request's terms: never a Python class or type name."""
    if item["type"] in _MESSAGES:
        return _MESSAGES[item["type"]]
    return _INSTANCE_OF.sub("", item["msg"].removeprefix("Value error, "))


_INSTANCE_OF = re.compile(r",? or (an )?instance of \w+")


def _check_dates(market: MarketParams, max_days: int) -> None:
    start, end = _real_date("start_date", market.start_date), _real_date("end_date", market.end_date)
    if end <= start:
        raise InvalidDateRange(
            "end_date must be after start_date",
            {"start_date": market.start_date, "end_date": market.end_date},
        )
    if (end - start).days > max_days:
        raise InvalidDateRange(
            f"The date range may span at most {max_days} days",
            {"start_date": market.start_date, "end_date": market.end_date, "max_days": max_days},
        )


def _real_date(field: str, value: str) -> date:
    if _ISO_DATE.fullmatch(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise InvalidDateRange(f"{field} must be a real date as YYYY-MM-DD", {"field": field})
