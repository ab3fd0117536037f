"""One time budget per backtest, shared by all its calls.

It starts when the backtest starts (its graph is subscribed), not when the graph is built; each
attempt of each call then gets at most what is left (``remaining_s``).
"""

from __future__ import annotations

from orchestrator.resilience.clock import Clock


class Deadline:
    def __init__(self, budget_s: float, clock: Clock) -> None:
        self.budget_s = budget_s
        self._clock = clock
        self._started_at: float | None = None

    def start(self) -> None:
        if self._started_at is None:
            self._started_at = self._clock()

    def remaining_s(self) -> float:
        """Seconds left (negative once passed); the whole budget before the backtest started."""
        if self._started_at is None:
            return self.budget_s
        return self.budget_s - (self._clock() - self._started_at)
