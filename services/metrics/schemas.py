"""Request body of the metrics service's ``POST /calculate`` (docs/contract.md)."""

from __future__ import annotations

from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from services.days import Day


class _Body(BaseModel):
    model_config = ConfigDict(extra="ignore")


class ValueSeries(_Body):
    """A portfolio's value each day; other series the portfolio service gives are ignored."""

    dates: list[Day]
    portfolio_value: list[Annotated[float, Field(gt=0, allow_inf_nan=False)]]

    @model_validator(mode="after")
    def _aligned(self) -> Self:
        if len(self.dates) != len(self.portfolio_value):
            lengths = f"{len(self.dates)} dates and {len(self.portfolio_value)} values"
            raise ValueError(f"dates and portfolio_value must have the same length, not {lengths}")
        for before, after in zip(self.dates, self.dates[1:], strict=False):
            if after <= before:
                raise ValueError(f"dates must increase: {after} comes after {before}")
        return self


class FinalState(_Body):
    """Accepted as the contract sends it; the scores are computed from the time series alone."""

    portfolio_value: float | None = None
    total_invested: float | None = None


class PortfolioIn(_Body):
    time_series: ValueSeries
    final_state: FinalState | None = None


class CalculateRequest(_Body):
    #: A fraction a year (0.02 is 2%).
    risk_free_rate_annual: Annotated[float, Field(gt=-1, lt=1, allow_inf_nan=False)] = 0.0
    start_date: str | None = None  # accepted; periods are measured between the series' own dates
    end_date: str | None = None
    portfolios: Annotated[dict[str, PortfolioIn], Field(min_length=1)]
