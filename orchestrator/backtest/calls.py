"""Per backtest: each downstream call the graph makes, when it started and ended, and who listens.

The graph names each call once, by wrapping its observable in :meth:`CallTracker.track` while it is
built; so :attr:`CallTracker.calls` (and the ``total`` of every progress event) is derived from the
graph itself. The operator watches the one subscription doing the work, so timing for the canonical
log line, the debug line per call and the progress events of a stream all come from the same place.
A call disposed before it ends (cancelled) is timed for the log but not reported as progress.

Progress events keep the public name ``stage`` for a call's name (see ``docs/contract.md``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any, TypeVar

import structlog
from reactivex import Observable

from orchestrator import metrics
from orchestrator.errors import to_api_error
from streams import observe_lifecycle

T = TypeVar("T")
Listener = Callable[[dict[str, Any]], None]

log = structlog.get_logger("orchestrator.calls")


class CallTracker:
    def __init__(self, clock: Callable[[], float] = time.perf_counter) -> None:
        self._clock = clock
        self.started_at = clock()
        #: The calls of the graph, in the order it was built.
        self.calls: list[str] = []
        self.durations_ms: dict[str, float] = {}
        self._running: dict[str, tuple[str, float]] = {}
        self._listeners: list[Listener] = []
        #: Progress events go to the debug log too; built at all only if it or a listener takes them.
        self._logged = log.is_enabled_for(logging.DEBUG)
        self.done = 0

    def elapsed_ms(self) -> float:
        return round((self._clock() - self.started_at) * 1000, 1)

    def listen(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def in_flight(self) -> list[tuple[str, str]]:
        """``(call, service)`` of each call still running, oldest first."""
        return [(call, service) for call, (service, _) in self._running.items()]

    def track(
        self, call: str, service: str, facts: Callable[[T], dict[str, Any]] | None = None
    ) -> Callable[[Observable[T]], Observable[T]]:
        """An operator reporting the wrapped call's start, result and failure under ``call``."""
        self.calls.append(call)

        def started() -> None:
            self._running[call] = (service, self._clock())
            self._emit(call, "started")

        def succeeded(value: T) -> None:
            self.done += 1
            duration_ms = self._finish(call, "ok")
            if self._heard():
                told = {"facts": facts(value)} if facts else {}
                self._emit(call, "done", duration_ms=duration_ms, **told)

        def failed(error: Exception) -> None:
            code = to_api_error(error).code
            self._emit(call, "failed", duration_ms=self._finish(call, code), error=code)

        def cancelled() -> None:
            # A join may dispose a call after its value but before its completion: that is no cancel.
            if call in self._running:
                duration_ms = self._finish(call, "cancelled")
                log.debug("downstream call cancelled", call=call, service=service, duration_ms=duration_ms)

        return observe_lifecycle(started, succeeded, failed, cancelled)

    def cached(self, call: str, facts: dict[str, Any], coalesced: bool = False) -> None:
        """``call`` answered without being made by this backtest: kept from an earlier one, or
        (``coalesced``) shared with an identical call another backtest has in flight."""
        self.done += 1
        self._emit(call, "cached", facts=facts, **({"coalesced": True} if coalesced else {}))

    def _finish(self, call: str, outcome: str) -> float:
        service, began = self._running.pop(call)
        elapsed_s = self._clock() - began
        metrics.child(metrics.CALLS, service, outcome).inc()
        metrics.child(metrics.CALL_SECONDS, service).observe(elapsed_s)
        self.durations_ms[call] = duration = round(elapsed_s * 1000, 1)
        return duration

    def _heard(self) -> bool:
        """Whether a progress event reaches anyone: a stream listening, or the debug log."""
        return self._logged or bool(self._listeners)

    def _emit(self, call: str, state: str, **fields: Any) -> None:
        if not self._heard():
            return
        event = {
            "stage": call,
            "state": state,
            "elapsed_ms": self.elapsed_ms(),
            "done": self.done,
            "total": len(self.calls),
            **fields,
        }
        log.debug("downstream call", **event)
        for listener in self._listeners:
            listener(event)
