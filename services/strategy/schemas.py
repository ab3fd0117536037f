"""Request body of the strategy service, and each strategy's config.

Configs forbid unknown keys, so a misspelt setting is an INVALID_REQUEST naming it rather than a
default silently used in its place.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from services.days import Frequency
from services.series import PriceSeries


class SignalsRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    strategy_type: Annotated[str, Field(min_length=1)]
    config: Annotated[dict[str, Any], BeforeValidator(lambda value: {} if value is None else value)] = {}
    price_data: PriceSeries


class _Config(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class BuyTheDipConfig(_Config):
    price_change_threshold: Annotated[float, Field(gt=-1, lt=0, allow_inf_nan=False)] = -0.05
    lookback_period: Frequency = "daily"


class BuyAndHoldConfig(_Config):
    pass


class DollarCostAverageConfig(_Config):
    """Every ``interval_days`` trading days, or on the first trading day of each week or month."""

    interval_days: Annotated[int, Field(ge=1)] | None = None
    frequency: Literal["weekly", "monthly"] | None = None

    @model_validator(mode="after")
    def _one_schedule(self) -> Self:
        if self.interval_days is not None and self.frequency is not None:
            raise ValueError("give interval_days or frequency, not both")
        return self


class MomentumConfig(_Config):
    lookback_days: Annotated[int, Field(ge=1)] = 20
    momentum_threshold: Annotated[float, Field(gt=-1, allow_inf_nan=False)] = 0.05
