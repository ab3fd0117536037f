"""Request body of the portfolio service's ``POST /simulate`` (docs/contract.md)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from services.days import Day
from services.series import PriceSeries


def _upper(value: Any) -> Any:
    return value.strip().upper() if isinstance(value, str) else value


def _none_is_empty(value: Any) -> Any:
    return [] if value is None else value


Positive = Annotated[float, Field(gt=0, allow_inf_nan=False)]
Percent = Annotated[float, Field(ge=0, allow_inf_nan=False)]


class _Item(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class SignalItem(_Item):
    """A strategy's signal; only its day matters here (price and trigger_details are ignored)."""

    date: Day
    action: Annotated[Literal["BUY"], BeforeValidator(_upper)]


class DividendItem(_Item):
    ex_date: Day
    amount_per_share: Annotated[float, Field(ge=0, allow_inf_nan=False)]


class SimulateRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    initial_capital: Positive
    investment_per_trade: Positive
    reinvest_dividends: bool = True
    transaction_cost_pct: Annotated[float, Field(ge=0, lt=100, allow_inf_nan=False)] = 0.0
    cash_interest_rate_pct: Percent = 0.0
    signals: Annotated[list[SignalItem], BeforeValidator(_none_is_empty)] = []
    price_data: PriceSeries
    dividend_data: Annotated[list[DividendItem], BeforeValidator(_none_is_empty)] = []
