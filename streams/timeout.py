"""Fail with an error of the caller's choosing when nothing arrives in time.

::

    source:   ------------x|
    timeout:  ----E                 (E = error_factory(); the source is disposed)

The timer runs on the given scheduler (without one, reactivex's ``ops.timeout`` starts a
``threading.Timer`` per subscription) and stops at the source's first value or end. The factory
runs when the timer fires, so it can describe what was pending at that moment. Disposing the
source on timeout is what cancels the call in flight.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from reactivex import Observable, abc
from reactivex.abc import SchedulerBase

from streams.lean import LeanObservable
from streams.scheduling import after
from streams.subscriptions import Many, Slot

T = TypeVar("T")


def timeout_after(
    seconds: float,
    scheduler: SchedulerBase,
    error_factory: Callable[[], Exception],
) -> Callable[[Observable[T]], Observable[T]]:
    """Error with ``error_factory()`` if the source has not emitted within ``seconds``."""

    def _timeout(source: Observable[T]) -> Observable[T]:
        def subscribe(
            observer: abc.ObserverBase[T], subscribe_scheduler: SchedulerBase | None = None
        ) -> abc.DisposableBase:
            watch = _Watch(observer, error_factory)
            watch.timer.put(after(scheduler, seconds, watch.fire))
            watch.upstream.put(source.subscribe(watch, scheduler=subscribe_scheduler))
            return Many(watch.upstream, watch.timer)

        return LeanObservable(subscribe)

    return _timeout


class _Watch(abc.ObserverBase[T]):
    """The source's observer, and the timer's action: whichever comes first decides."""

    __slots__ = ("error_factory", "observer", "timed_out", "timer", "upstream")

    def __init__(self, observer: abc.ObserverBase[T], error_factory: Callable[[], Exception]) -> None:
        self.observer, self.error_factory = observer, error_factory
        self.upstream, self.timer = Slot(), Slot()
        self.timed_out = False

    def fire(self) -> None:
        if self.timer.disposed:
            return
        self.timed_out = True
        self.timer.dispose()
        try:
            error = self.error_factory()  # first: it may describe what is still pending
        except Exception as factory_error:
            error = factory_error
        self.upstream.dispose()
        self.observer.on_error(error)

    def on_next(self, value: T) -> None:
        if not self.timed_out:
            self.timer.dispose()
            self.observer.on_next(value)

    def on_error(self, error: Exception) -> None:
        if not self.timed_out:
            self.timer.dispose()
            self.upstream.dispose()
            self.observer.on_error(error)

    def on_completed(self) -> None:
        if not self.timed_out:
            self.timer.dispose()
            self.upstream.dispose()
            self.observer.on_completed()
