"""A cap on the calls in flight to one service (each service also has its own connection pool).

A service that slows down must not take every connection and every task of the orchestrator with
it: past ``max_in_flight`` calls, the next one is refused at once (BulkheadFull, with Retry-After)
rather than queued. Hedges take a place like any call, and are skipped when there is none.
"""

from __future__ import annotations


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
