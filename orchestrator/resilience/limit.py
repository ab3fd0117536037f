"""How many backtests the server takes at once: a limit that follows measured latency.

In the manner of Netflix's concurrency-limits ``Gradient2Limit``: a long-run average of backtest
latency (``long``) stands for the latency without queueing, a short one (``short``) for now. While
``short`` stays within ``tolerance`` times ``long``, the limit grows by about ``queue_size`` per
sample; when latency climbs past that (something behind us is queueing), the limit shrinks by the
ratio, at most by half per sample; every change is smoothed. A backtest that ended in a timeout
counts as a drop and cuts the limit by ``drop_factor`` (AIMD's multiplicative decrease), which
Gradient2 alone would not notice. The limit never leaves ``[min_limit, max_limit]``, and does not
grow while fewer than half of it are in use (the load, not the limit, is what keeps it low then).
Past the limit, backtests are refused at once with Retry-After; nothing queues.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator


class AdmissionConfig(BaseModel):
    """``ADMISSION__*``: the adaptive limit on backtests in flight in one server process."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    min_limit: Annotated[int, Field(ge=1, le=100_000)] = 8
    #: The ceiling; with two calls per service per backtest it stays within each service's bulkhead.
    max_limit: Annotated[int, Field(ge=1, le=100_000)] = 100
    #: Where the limit starts (Gradient2: 20).
    initial_limit: Annotated[int, Field(ge=1, le=100_000)] = 20
    #: Latency may grow to this many times its long-run average before the limit shrinks (Gradient2: 1.5).
    tolerance: Annotated[float, Field(ge=1, le=10)] = 1.5
    #: Weight of each new estimate (Gradient2: 0.2).
    smoothing: Annotated[float, Field(gt=0, le=1)] = 0.2
    #: Growth per sample while latency holds (Gradient2: 4).
    queue_size: Annotated[float, Field(ge=0, le=1000)] = 4.0
    #: Samples in the long-run average (Gradient2: 600) and in the short one.
    long_window: Annotated[int, Field(ge=2, le=100_000)] = 600
    short_window: Annotated[int, Field(ge=1, le=1000)] = 10
    #: The limit is multiplied by this when a backtest times out (AIMD's backoff ratio).
    drop_factor: Annotated[float, Field(gt=0, lt=1)] = 0.9
    #: The shortest Retry-After of a refused backtest (it is the typical backtest latency when longer).
    retry_after_s: Annotated[float, Field(gt=0, le=3600)] = 1.0

    @model_validator(mode="after")
    def _ordered(self) -> AdmissionConfig:
        if not self.min_limit <= self.initial_limit <= self.max_limit:
            raise ValueError("need min_limit <= initial_limit <= max_limit")
        return self


class _Average:
    """An exponential moving average over about ``window`` samples; a plain mean while warming up."""

    def __init__(self, window: int, warmup: int) -> None:
        self._factor, self._warmup = 2 / (window + 1), warmup
        self.count, self.value = 0, 0.0

    def add(self, sample: float) -> float:
        self.count += 1
        if self.count <= self._warmup:
            self.value += (sample - self.value) / self.count
        else:
            self.value += (sample - self.value) * self._factor
        return self.value


class AdaptiveLimit:
    def __init__(self, config: AdmissionConfig) -> None:
        self.config = config
        self.estimate = float(config.initial_limit)
        self.in_flight = 0
        self._long = _Average(config.long_window, warmup=min(10, config.long_window))
        self._short = _Average(config.short_window, warmup=1)

    @property
    def limit(self) -> int:
        return int(self.estimate)

    def retry_after_s(self) -> float:
        """When a refused backtest is worth sending again: about when a backtest admitted now would
        be done (the long-run latency), and never sooner than ``retry_after_s``. A client told to
        come back in a second while every place is taken for the next four would only be refused
        again, at a cost to everyone; Hystrix and Envoy answer a fixed figure."""
        return max(self.config.retry_after_s, self._long.value)

    def try_acquire(self) -> bool:
        if self.in_flight >= self.limit:
            return False
        self.in_flight += 1
        return True

    def release(self, latency_s: float | None, dropped: bool = False) -> None:
        """A backtest ended: after ``latency_s`` (None if it says nothing of latency), or timed out."""
        in_flight, self.in_flight = self.in_flight, self.in_flight - 1
        if dropped:
            self._set(self.estimate * self.config.drop_factor)
        elif latency_s is not None and latency_s > 0:
            self._sample(latency_s, in_flight)

    def _sample(self, latency_s: float, in_flight: int) -> None:
        config = self.config
        short, long = self._short.add(latency_s), self._long.add(latency_s)
        if long > 2 * short:  # latency is back to normal after a long spell of load: forget it faster
            self._long.value *= 0.95
        if in_flight < self.estimate / 2:
            return  # too little load to tell whether a higher limit would hold
        gradient = max(0.5, min(1.0, config.tolerance * long / short))
        target = self.estimate * gradient + config.queue_size
        self._set(self.estimate * (1 - config.smoothing) + target * config.smoothing)

    def _set(self, estimate: float) -> None:
        self.estimate = max(float(self.config.min_limit), min(float(self.config.max_limit), estimate))
