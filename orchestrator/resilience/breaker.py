"""A circuit breaker per service: stop calling a service that keeps failing, then probe it.

Closed, it counts the calls of the last ``window_s`` seconds; once at least ``min_calls`` were made
and ``failure_rate`` of them failed, it opens: calls fail at once (CircuitOpen, with Retry-After)
for ``open_s``. Then it is half-open: ``half_open_probes`` calls go through; if all succeed it
closes, if one fails it opens again. Only failures that say the service is unwell count (those the
error tree marks retryable: timeouts, refused or reset connections, 5xx); a service answering "no
such ticker" is healthy. Defaults follow Hystrix (50% of at least 20 calls in 10 s, 5 s open).

Reading a breaker never changes it: ``state``, ``refuses_calls`` and ``retry_after_s`` only look.
It moves where calls are let through (``allow``: an open breaker past its ``open_s`` turns
half-open there) and where their verdicts are recorded, so a health check shows an open breaker
as open until the next call, and changes nothing the next backtest meets.

purgatory, the asyncio breaker on PyPI, trips on a count of failures rather than a failure rate
over a window with a minimum of calls, lets one probe through, and keeps time with the wall clock
inside ``async with`` blocks; the graph needs a rate, several probes, and state it can consult
from an operator on the scheduler's clock. So it is written here, small.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from orchestrator.resilience.clock import Clock
from orchestrator.resilience.window import RollingCounts

State = Literal["closed", "open", "half_open"]


class BreakerConfig(BaseModel):
    """``BREAKER__*``: when a failing service stops being called, and for how long."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    #: Open when at least this share of the window's calls failed (Hystrix, resilience4j: 50%).
    failure_rate: Annotated[float, Field(gt=0, le=1)] = 0.5
    #: The rolling window calls are counted over (Hystrix: 10 s).
    window_s: Annotated[float, Field(gt=0, le=600)] = 10.0
    #: ... and only once it holds at least this many calls (Hystrix: 20).
    min_calls: Annotated[int, Field(ge=1, le=100_000)] = 20
    #: How long it stays open before letting probes through (Hystrix: 5 s).
    open_s: Annotated[float, Field(gt=0, le=3600)] = 5.0
    #: Calls let through while half-open; all must succeed to close it.
    half_open_probes: Annotated[int, Field(ge=1, le=1000)] = 3


class CircuitBreaker:
    def __init__(
        self,
        service: str,
        config: BreakerConfig,
        clock: Clock,
        on_change: Callable[[str, State, State], None] = lambda *_: None,
    ) -> None:
        self.service, self.config = service, config
        self._clock, self._on_change = clock, on_change
        self._counts = RollingCounts(("calls", "failures"), config.window_s, clock)
        self._state: State = "closed"
        self._opened_at = 0.0
        self._probes = 0  # probes let through while half-open
        self._passed = 0  # of which succeeded

    @property
    def state(self) -> State:
        """The state as last moved: an open breaker whose ``open_s`` is over still says ``open``
        until a call is let through (a read; nothing changes)."""
        return self._state

    def refuses_calls(self) -> bool:
        """Whether a call now would be refused because the breaker is open and its ``open_s`` not
        over (a read; nothing changes). Past it, the next call is let through as a probe."""
        return self._state == "open" and self._clock() < self._opened_at + self.config.open_s

    def allow(self) -> bool:
        """Whether a call may go out now. An open breaker past its ``open_s`` turns half-open here,
        with the call that finds it so; a half-open breaker counts the probes it lets through."""
        if self._state == "open" and not self.refuses_calls():
            self._move("half_open")
        state = self._state
        if state == "closed":
            return True
        if state == "half_open" and self._probes < self.config.half_open_probes:
            self._probes += 1
            return True
        return False

    def retry_after_s(self) -> float:
        """How long until the breaker lets probes through (0 unless it refuses calls; a read)."""
        if not self.refuses_calls():
            return 0.0
        return self._opened_at + self.config.open_s - self._clock()

    def record_success(self) -> None:
        if self._state == "open":
            return  # a late verdict of a call let through before it opened
        if self._state == "half_open":
            self._passed += 1
            if self._passed >= self.config.half_open_probes:
                self._move("closed")
        else:
            self._counts.add("calls")

    def record_failure(self) -> None:
        if self._state == "open":
            return  # a late verdict: it must not keep the breaker open longer
        if self._state == "half_open":
            self._move("open")
            return
        self._counts.add("calls")
        self._counts.add("failures")
        calls = self._counts.total("calls")
        if (
            calls >= self.config.min_calls
            and self._counts.total("failures") >= self.config.failure_rate * calls
        ):
            self._move("open")

    def record_cancelled(self) -> None:
        """A call let through ended without a verdict (its backtest was cancelled): free its probe."""
        if self._state == "half_open" and self._probes > self._passed:
            self._probes -= 1

    def _move(self, to: State) -> None:
        was, self._state = self._state, to
        if to == "open":
            self._opened_at = self._clock()
        if to in ("half_open", "closed"):
            self._probes = self._passed = 0
        if to == "closed":
            self._counts.clear()
        if was != to:
            self._on_change(self.service, was, to)
