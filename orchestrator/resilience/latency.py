"""A service's recent latency quantile, and so when a call has taken long enough to hedge.

"The Tail at Scale" (Dean and Barroso, 2013): send a second copy of a request once the first has
been outstanding longer than the 95th-percentile latency of its kind, and use whichever answers
first; for a few percent more load, the tail shortens to about a normal call. The estimate is a
quantile of the last ``samples`` answer times, recomputed every ``samples // 10`` answers, never
below ``floor_s`` (so a fast, steady service is not hedged on its jitter), and unused until
``min_samples`` answers have been seen.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field


class HedgeConfig(BaseModel):
    """``HEDGE__*``: whether and when a slow call gets a second copy."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    #: Whether slow calls get a second copy at all: every call here is a pure computation, a read in
    #: effect, so repeating one changes nothing but the odds.
    enabled: bool = True
    #: Hedge once a call has run longer than this quantile of the service's recent answers.
    quantile: Annotated[float, Field(gt=0.5, lt=1)] = 0.95
    #: Never hedge sooner than this.
    floor_s: Annotated[float, Field(ge=0, le=60)] = 0.05
    #: How many recent answer times the quantile is taken over.
    samples: Annotated[int, Field(ge=10, le=10_000)] = 200
    #: No hedging before this many answers have been timed.
    min_samples: Annotated[int, Field(ge=1, le=10_000)] = 20


class LatencyQuantile:
    """Recorded on every answer and asked on every call: both are a few attribute reads, the
    sort is once every ``samples // 10`` answers."""

    def __init__(self, config: HedgeConfig) -> None:
        self.config = config
        self._samples, self._min_samples, self._floor_s = config.samples, config.min_samples, config.floor_s
        self._refresh_every = max(1, config.samples // 10)
        self._ring: list[float] = []
        self._next = 0
        self._since_refresh = 0
        self._estimate: float | None = None
        #: What ``hedge_after_s`` answers: kept from the last refresh.
        self._after_s: float | None = None

    def record(self, seconds: float) -> None:
        ring = self._ring
        if len(ring) < self._samples:
            ring.append(seconds)
        else:
            ring[self._next] = seconds
            self._next = (self._next + 1) % self._samples
        self._since_refresh += 1
        if self._estimate is None or self._since_refresh >= self._refresh_every:
            self._refresh()
        elif self._after_s is None and len(ring) >= self._min_samples:
            self._after_s = max(self._floor_s, self._estimate)

    def hedge_after_s(self) -> float | None:
        """How long a call may run before it is hedged; None until enough answers were timed."""
        return self._after_s

    def _refresh(self) -> None:
        ordered = sorted(self._ring)
        self._estimate = ordered[min(len(ordered) - 1, int(self.config.quantile * len(ordered)))]
        self._since_refresh = 0
        enough = len(ordered) >= self._min_samples
        self._after_s = max(self._floor_s, self._estimate) if enough else None
