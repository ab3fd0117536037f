"""How many backtests run at once, and how they end when the process stops.

``Admission`` holds the adaptive limit on backtests in flight (``resilience.limit``): past it a
backtest is refused at once, nothing queues. On shutdown it drains: no new backtests, those in
flight get a grace period, and any still running then are cut short with ShuttingDown. The web
layer's ``admission`` middleware and ``drain`` hook put it in front of the backtest routes.
"""

from __future__ import annotations

import asyncio
from typing import Any, TypeVar

import structlog
from reactivex import Observable, abc

from orchestrator import metrics
from orchestrator.errors import ShuttingDown
from orchestrator.resilience.limit import AdaptiveLimit, AdmissionConfig
from streams.lean import LeanObservable
from streams.subscriptions import Slot

T = TypeVar("T")

log = structlog.get_logger("orchestrator.admission")


class Admission:
    """The limit on backtests in flight, and the means to drain them."""

    def __init__(self, config: AdmissionConfig) -> None:
        self.config = config
        self.limit = AdaptiveLimit(config)
        self._report()
        self.draining = False
        self._stops: set[_Abortable[Any]] = set()
        self._idle: asyncio.Event | None = None

    def abortable(self, graph: Observable[T]) -> Observable[T]:
        """``graph``, unless the drain's grace runs out first: then it fails with ShuttingDown."""

        def subscribe(
            observer: abc.ObserverBase[T], scheduler: abc.SchedulerBase | None = None
        ) -> abc.DisposableBase:
            run = _Abortable(observer, self._stops)
            run.upstream.put(graph.subscribe(run, scheduler=scheduler))
            return run

        return LeanObservable(subscribe)

    def admit(self) -> bool:
        if self.draining or not self.limit.try_acquire():
            return False
        self._report()
        return True

    def done(self, latency_s: float | None, dropped: bool) -> None:
        self.limit.release(latency_s, dropped)
        self._report()
        if self.limit.in_flight == 0 and self._idle is not None:
            self._idle.set()

    def _report(self) -> None:
        """The slots in use and the limit, for /metrics: here rather than in the web layer, since a
        sweep takes and gives back slots of its own (``research/sweep.py``). Their ratio is what the
        autoscaler scales on (deploy/prometheus-adapter/config.yaml)."""
        metrics.ADMISSION_IN_FLIGHT.set(self.limit.in_flight)
        metrics.ADMISSION_LIMIT.set(self.limit.limit)

    async def drain(self, grace_s: float) -> None:
        """Refuse new backtests; wait up to ``grace_s`` for those in flight; then cut the rest short."""
        self.draining = True
        log.info("draining", in_flight=self.limit.in_flight, grace_s=grace_s)
        if self.limit.in_flight:
            self._idle = asyncio.Event()
            try:
                await asyncio.wait_for(self._idle.wait(), grace_s)
            except TimeoutError:
                log.warning("drain grace over", cut_short=len(self._stops))
                for run in list(self._stops):
                    run.abort(ShuttingDown())


class _Abortable(abc.ObserverBase[T], abc.DisposableBase):
    """One backtest in flight: its events pass through until it ends, or until it is aborted."""

    __slots__ = ("observer", "runs", "upstream")

    def __init__(self, observer: abc.ObserverBase[T], runs: set[_Abortable[Any]]) -> None:
        self.observer, self.runs, self.upstream = observer, runs, Slot()
        runs.add(self)

    def on_next(self, value: T) -> None:
        self.observer.on_next(value)

    def on_error(self, error: Exception) -> None:
        self.runs.discard(self)
        self.observer.on_error(error)

    def on_completed(self) -> None:
        self.runs.discard(self)
        self.observer.on_completed()

    def abort(self, error: Exception) -> None:
        if self in self.runs:
            self.dispose()
            self.observer.on_error(error)

    def dispose(self) -> None:
        self.runs.discard(self)
        self.upstream.dispose()
