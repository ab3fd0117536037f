"""Continue a single-value source with a call made from its value.

::

    source:   ---a|
    then:        ---f(a)|        (f(a) is subscribed when a arrives)
    result:   ------f(a)|
    source:   ---X               -> X (f is never called)
    source:   ---|               -> |  (no value: nothing to continue with)

reactivex's ``flat_map`` for sources of one value, with this package's lean subscription
(``streams/lean.py``). An exception ``f`` raises is the error.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

from reactivex import Observable, abc

from streams.lean import LeanObservable
from streams.subscriptions import Many, Slot

T = TypeVar("T")
R = TypeVar("R")


def then(continuation: Callable[[T], Observable[R]]) -> Callable[[Observable[T]], Observable[R]]:
    """When the source's value arrives, subscribe ``continuation(value)`` and pass its values on."""

    def _then(source: Observable[T]) -> Observable[R]:
        def subscribe(
            observer: abc.ObserverBase[R], scheduler: abc.SchedulerBase | None = None
        ) -> abc.DisposableBase:
            step = _Step(observer, continuation, scheduler)
            step.first.put(source.subscribe(step, scheduler=scheduler))
            return Many(step.first, step.second)

        return LeanObservable(subscribe)

    return _then


class _Step(abc.ObserverBase[T], Generic[T, R]):
    """Observes the source; once it has a value, the continuation's observer is ``_Next``."""

    __slots__ = ("continuation", "ended", "first", "observer", "scheduler", "second", "started")

    def __init__(
        self,
        observer: abc.ObserverBase[R],
        continuation: Callable[[T], Observable[R]],
        scheduler: abc.SchedulerBase | None,
    ) -> None:
        self.observer, self.continuation, self.scheduler = observer, continuation, scheduler
        self.first, self.second = Slot(), Slot()
        self.started = self.ended = False

    def on_next(self, value: T) -> None:
        if self.started or self.ended:
            return
        self.started = True
        try:
            following = self.continuation(value)
        except Exception as error:
            self.fail(error)
            return
        self.second.put(following.subscribe(_Next(self), scheduler=self.scheduler))

    def on_error(self, error: Exception) -> None:
        self.fail(error)

    def on_completed(self) -> None:
        if self.started:
            self.first.dispose()  # the source is done; the continuation carries on
        elif not self.ended:  # no value came: nothing to continue with
            self.ended = True
            self.first.dispose()
            self.observer.on_completed()

    def fail(self, error: Exception) -> None:
        if not self.ended:
            self.ended = True
            self.first.dispose()
            self.second.dispose()
            self.observer.on_error(error)


class _Next(abc.ObserverBase[R]):
    __slots__ = ("step",)

    def __init__(self, step: _Step[Any, R]) -> None:
        self.step = step

    def on_next(self, value: R) -> None:
        if not self.step.ended:
            self.step.observer.on_next(value)

    def on_error(self, error: Exception) -> None:
        self.step.fail(error)

    def on_completed(self) -> None:
        step = self.step
        if not step.ended:
            step.ended = True
            step.first.dispose()
            step.second.dispose()
            step.observer.on_completed()
