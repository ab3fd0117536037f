"""A retry budget per service: retries (and hedges) may add only a share of recent calls.

Retries help a service that fails now and then; against one that fails all the time they multiply
its load by the number of attempts just when it can least take it. So, as Finagle's
``RetryBudget`` and Envoy's retry budgets do, each service allows at most ``ratio`` extra attempts
per call made over the last ``window_s`` seconds, plus a small floor of ``min_per_s`` so that a
service called rarely can still be retried. No released Python library has one.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from orchestrator.resilience.clock import Clock
from orchestrator.resilience.window import RollingCounts


class RetryBudgetConfig(BaseModel):
    """``RETRY_BUDGET__*``: how much extra load retries and hedges may put on one service."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    #: Extra attempts per call (Finagle's and Envoy's default: 20%).
    ratio: Annotated[float, Field(ge=0, le=1)] = 0.2
    #: Extra attempts per second allowed whatever the traffic (Finagle: 10; a quieter 3 here).
    min_per_s: Annotated[float, Field(ge=0, le=1000)] = 3.0
    #: How far back calls and extra attempts are counted (Finagle's ttl: 10 s).
    window_s: Annotated[float, Field(gt=0, le=600)] = 10.0


class RetryBudget:
    def __init__(self, config: RetryBudgetConfig, clock: Clock) -> None:
        self.config = config
        self._counts = RollingCounts(("calls", "extra"), config.window_s, clock)

    def record_call(self) -> None:
        """A call is made (its first attempt): it adds ``ratio`` to the budget."""
        self._counts.add("calls")

    def try_spend(self) -> bool:
        """Take one extra attempt (a retry or a hedge) if the budget allows it."""
        if self._counts.total("extra") >= self.allowance():
            return False
        self._counts.add("extra")
        return True

    def allowance(self) -> float:
        config = self.config
        return config.min_per_s * config.window_s + config.ratio * self._counts.total("calls")

    def recent_calls(self) -> int:
        return self._counts.total("calls")

    def extra_attempts(self) -> int:
        return self._counts.total("extra")
