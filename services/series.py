"""A price series as the strategy and portfolio services receive it: ``[{date, adjusted_close}]``."""

from __future__ import annotations

import itertools
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from services.days import Day


class PricePoint(BaseModel):
    """A day of ``price_data``; extra fields (open, volume...) are accepted and ignored."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    date: Day
    adjusted_close: Annotated[float, Field(gt=0, allow_inf_nan=False)]


def _increasing(points: list[PricePoint]) -> list[PricePoint]:
    """Dates must be in increasing order without repeats: the services count trading days."""
    for before, after in itertools.pairwise(points):
        if after.date <= before.date:
            raise ValueError(f"dates must increase: {after.date} comes after {before.date}")
    return points


#: ``price_data``: days in increasing date order.
PriceSeries = Annotated[list[PricePoint], AfterValidator(_increasing)]
