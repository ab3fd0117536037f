"""A cap on the calls in flight to one service (each service also has its own connection pool).

A service that slows down must not take every connection and every task of the orchestrator with
it: past ``max_in_flight`` calls, the next one is refused at once (BulkheadFull, with Retry-After)
rather than queued. Hedges take a place like any call, and are skipped when there is none.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field


class BulkheadConfig(BaseModel):
    """``BULKHEAD__*``: how many calls to one service may be in flight at once."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    #: The cap on calls in flight, and the size of the service's connection pool: two calls per
    #: backtest at the admission ceiling (100), and room for hedges.
    max_in_flight: Annotated[int, Field(ge=1, le=10_000)] = 250


class Bulkhead:
    def __init__(self, max_in_flight: int) -> None:
        self.max_in_flight = max_in_flight
        self.in_flight = 0

    def try_acquire(self) -> bool:
        if self.in_flight >= self.max_in_flight:
            return False
        self.in_flight += 1
        return True

    def release(self) -> None:
        self.in_flight -= 1
