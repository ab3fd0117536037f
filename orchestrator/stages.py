"""Per backtest: when each downstream call started and ended, and who wants to hear about it.

The tracker's operator wraps a call's observable, so timing for the canonical log line, the debug
line per call and the progress events of a stream all come from the one subscription doing the
work. A call disposed before it ends (cancelled) is timed for the log but not reported as progress.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

import structlog
from reactivex import Observable

from orchestrator.errors import ApiError
from streams import observe_lifecycle

T = TypeVar("T")
Listener = Callable[[dict[str, Any]], None]

log = structlog.get_logger("orchestrator.stages")

#: The downstream calls of one backtest, in the order a reader of the graph meets them.
STAGES = (
    "market_data.prices",
    "market_data.dividends",
    "signals.active",
    "signals.baseline",
    "simulate.active",
    "simulate.baseline",
    "metrics",
)


class StageTracker:
    def __init__(self, clock: Callable[[], float] = time.perf_counter) -> None:
        self._clock = clock
        self.started_at = clock()
        self.durations_ms: dict[str, float] = {}
        self._running: dict[str, tuple[str, float]] = {}
        self._listeners: list[Listener] = []
        self.done = 0

    def elapsed_ms(self) -> float:
        return round((self._clock() - self.started_at) * 1000, 1)

    def listen(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def in_flight(self) -> list[tuple[str, str]]:
        """``(stage, service)`` of each call still running, oldest first."""
        return [(stage, service) for stage, (service, _) in self._running.items()]

    def track(
        self, stage: str, service: str, facts: Callable[[T], dict[str, Any]] | None = None
    ) -> Callable[[Observable[T]], Observable[T]]:
        """An operator reporting the wrapped call's start, result and failure under ``stage``."""

        def started() -> None:
            self._running[stage] = (service, self._clock())
            self._emit(stage, "started")

        def succeeded(value: T) -> None:
            self.done += 1
            self._emit(
                stage, "done", duration_ms=self._finish(stage), **({"facts": facts(value)} if facts else {})
            )

        def failed(error: Exception) -> None:
            code = error.code if isinstance(error, ApiError) else "INTERNAL_ERROR"
            self._emit(stage, "failed", duration_ms=self._finish(stage), error=code)

        def cancelled() -> None:
            # A join may dispose a call after its value but before its completion: that is no cancel.
            if stage in self._running:
                duration_ms = self._finish(stage)
                log.debug("downstream call cancelled", stage=stage, service=service, duration_ms=duration_ms)

        return observe_lifecycle(started, succeeded, failed, cancelled)

    def _finish(self, stage: str) -> float:
        _service, began = self._running.pop(stage)
        self.durations_ms[stage] = duration = round((self._clock() - began) * 1000, 1)
        return duration

    def _emit(self, stage: str, state: str, **fields: Any) -> None:
        event = {
            "stage": stage,
            "state": state,
            "elapsed_ms": self.elapsed_ms(),
            "done": self.done,
            "total": len(STAGES),
            **fields,
        }
        log.debug("downstream call", **event)
        for listener in self._listeners:
            listener(event)
