"""One named policy per service: everything that shapes the calls to it.

:class:`PolicyConfig` is the validated configuration of one service's policy, six groups: its
timeouts, retries, retry budget, hedging, circuit breaker and bulkhead. ``orchestrator.settings``
layers it, per service, from the registry entry's defaults, the environment's defaults for every
service (``RETRY__MAX_ATTEMPTS``) and the environment's overrides for that service
(``SERVICES__METRICS__RETRY__MAX_ATTEMPTS``), as resilience4j and Envoy configure one instance per
backend over shared defaults. :class:`ServicePolicy` is that configuration made live: the state
its mechanisms keep on the scheduler's clock. This module reads no settings; it is given them.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

import structlog
from pydantic import BaseModel, ConfigDict, Field

from orchestrator import metrics
from orchestrator.resilience.breaker import BreakerConfig, CircuitBreaker, State
from orchestrator.resilience.budget import RetryBudget, RetryBudgetConfig
from orchestrator.resilience.bulkhead import Bulkhead, BulkheadConfig
from orchestrator.resilience.clock import Clock
from orchestrator.resilience.latency import HedgeConfig, LatencyQuantile
from orchestrator.resilience.retry import RetryConfig

log = structlog.get_logger("orchestrator.resilience")


class TimeoutConfig(BaseModel):
    """``TIMEOUT__*``: how long a call to one service may take."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    #: Seconds one attempt may take (less when the backtest's deadline is nearer).
    attempt_s: Annotated[float, Field(gt=0, le=3600)] = 10.0
    #: Seconds to open a new connection to the service. It matters only when shorter than
    #: ``attempt_s``: a service that does not accept is then retried sooner (Envoy's
    #: ``connect_timeout`` is 5 s).
    connect_s: Annotated[float, Field(gt=0, le=3600)] = 10.0


class PolicyConfig(BaseModel):
    """The policy of one service: each group is also a setting of its own (``RETRY__*``, ...),
    the defaults of every service."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    timeout: TimeoutConfig = TimeoutConfig()
    retry: RetryConfig = RetryConfig()
    retry_budget: RetryBudgetConfig = RetryBudgetConfig()
    hedge: HedgeConfig = HedgeConfig()
    breaker: BreakerConfig = BreakerConfig()
    bulkhead: BulkheadConfig = BulkheadConfig()

    def flat(self) -> dict[str, float]:
        """Each setting as ``group.field`` and a number (a switch as 0 or 1), in declaration order:
        what ``/metrics`` shows."""
        return {
            f"{group}.{name}": float(value)
            for group, values in self.model_dump().items()
            for name, value in values.items()
        }


def log_state_change(service: str, was: State, now: State) -> None:
    """Once per change: the breaker of ``service`` went from ``was`` to ``now``, in the log and the
    metrics."""
    log.warning("circuit breaker", service=service, was=was, state=now)
    metrics.circuit_changed(service, was, now)


@dataclass(frozen=True, slots=True)
class ServicePolicy:
    #: What it was made from: the effective configuration, as ``/api/health`` shows it.
    config: PolicyConfig
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
        config: PolicyConfig,
        clock: Clock,
        on_breaker_change: Callable[[str, State, State], None] = log_state_change,
        rng: random.Random | None = None,
    ) -> ServicePolicy:
        # Series from the start, not from the first change.
        metrics.circuit_changed(name, "closed", "closed")
        metrics.record_policy(name, config.flat())
        return cls(
            config=config,
            timeout_s=config.timeout.attempt_s,
            retry=config.retry,
            budget=RetryBudget(config.retry_budget, clock),
            latency=LatencyQuantile(config.hedge) if config.hedge.enabled else None,
            breaker=CircuitBreaker(name, config.breaker, clock, on_breaker_change),
            bulkhead=Bulkhead(config.bulkhead.max_in_flight),
            clock=clock,
            rng=rng or random.Random(),
        )

    def hedge_after_s(self) -> float | None:
        return self.latency.hedge_after_s() if self.latency is not None else None
