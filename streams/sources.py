"""Observables made from what is already in hand: a factory's, a value, an error.

::

    defer(f):   (f(scheduler) subscribed anew for each subscription; f raises X: X)
    just(a):    (a|)
    throw(X):   X

Lean (``streams/lean.py``): each subscription is one call, with nothing to dispose once the
observable has ended at once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from reactivex import Observable, abc

from streams.lean import LeanObservable
from streams.subscriptions import NOTHING

T = TypeVar("T")


def defer(factory: Callable[[abc.SchedulerBase | None], Observable[T]]) -> Observable[T]:
    """``factory(scheduler)`` made anew for each subscription (its error is the stream's)."""

    def subscribe(
        observer: abc.ObserverBase[T], scheduler: abc.SchedulerBase | None = None
    ) -> abc.DisposableBase:
        try:
            source = factory(scheduler)
        except Exception as error:
            observer.on_error(error)
            return NOTHING
        return source.subscribe(observer, scheduler=scheduler)

    return LeanObservable(subscribe)


def throw(error: Exception) -> Observable[Any]:
    """Fails at once with ``error``."""

    def subscribe(
        observer: abc.ObserverBase[Any], _scheduler: abc.SchedulerBase | None = None
    ) -> abc.DisposableBase:
        observer.on_error(error)
        return NOTHING

    return LeanObservable(subscribe)


def just(value: T) -> Observable[T]:
    """``value`` at once, then the end: a value already in hand, where a call would otherwise be."""

    def subscribe(
        observer: abc.ObserverBase[T], _scheduler: abc.SchedulerBase | None = None
    ) -> abc.DisposableBase:
        observer.on_next(value)
        observer.on_completed()
        return NOTHING

    return LeanObservable(subscribe)
