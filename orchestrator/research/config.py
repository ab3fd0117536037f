"""``SWEEP__*`` and ``COMPARE__*``: how much one research request may ask for, and how it runs."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field


class SweepConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    #: The most combinations one sweep (or one walk-forward fold) may have.
    max_combinations: Annotated[int, Field(ge=1, le=100_000)] = 1000
    #: The most combinations of one sweep running at once; each beyond the first takes an admission
    #: slot of its own, so that a sweep weighs on the server like the backtests it is.
    concurrency: Annotated[int, Field(ge=1, le=256)] = 8
    #: The least time between two progress events of a streamed sweep.
    progress_interval_s: Annotated[float, Field(ge=0, le=60)] = 0.5
    #: The whole sweep's deadline (each combination also has the backtest deadline).
    deadline_s: Annotated[float, Field(gt=0, le=86_400)] = 600.0


class CompareConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    #: The most strategies one comparison may hold.
    max_strategies: Annotated[int, Field(ge=1, le=100)] = 10
