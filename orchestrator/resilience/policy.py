"""Everything that shapes the calls to one service, built from the settings and the registry entry."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

import structlog

from orchestrator import metrics
from orchestrator.resilience.breaker import CircuitBreaker, State
from orchestrator.resilience.budget import RetryBudget
from orchestrator.resilience.bulkhead import Bulkhead
from orchestrator.resilience.clock import Clock
from orchestrator.resilience.latency import LatencyQuantile
from orchestrator.resilience.retry import RetryConfig
from orchestrator.settings import Settings

log = structlog.get_logger("orchestrator.resilience")


def log_state_change(service: str, was: State, now: State) -> None:
    """Once per change: the breaker of ``service`` went from ``was`` to ``now``, in the log and the
    metrics."""
    log.warning("circuit breaker", service=service, was=was, state=now)
    metrics.circuit_changed(service, was, now)


@dataclass(frozen=True, slots=True)
class ServicePolicy:
    #: Seconds one attempt may take (less when the backtest's deadline is nearer).
    timeout_s: float
    retry: RetryConfig
    budget: RetryBudget
    #: None when the service is not hedged.
    latency: LatencyQuantile | None
    breaker: CircuitBreaker
    bulkhead: Bulkhead
    clock: Clock
    rng: random.Random

    @classmethod
    def for_service(
        cls,
        name: str,
        settings: Settings,
        clock: Clock,
        on_breaker_change: Callable[[str, State, State], None] = log_state_change,
        rng: random.Random | None = None,
    ) -> ServicePolicy:
        metrics.circuit_changed(name, "closed", "closed")  # a series from the start, not the first change
        return cls(
            timeout_s=settings.timeout_s(name),
            retry=settings.retry,
            budget=RetryBudget(settings.retry_budget, clock),
            latency=LatencyQuantile(settings.hedge) if settings.hedged(name) else None,
            breaker=CircuitBreaker(name, settings.breaker, clock, on_breaker_change),
            bulkhead=Bulkhead(settings.max_in_flight(name)),
            clock=clock,
            rng=rng or random.Random(),
        )

    def hedge_after_s(self) -> float | None:
        return self.latency.hedge_after_s() if self.latency is not None else None
