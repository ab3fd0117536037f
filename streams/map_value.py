"""Each value through a function.

::

    source:   --a--b|
    result:   --f(a)--f(b)|      (f raises on b: --f(a)--X, the source disposed)

reactivex's ``ops.map`` with this package's lean subscription (``streams/lean.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

from reactivex import Observable, abc

from streams.lean import LeanObservable
from streams.subscriptions import Slot

T = TypeVar("T")
R = TypeVar("R")


def map_value(mapper: Callable[[T], R]) -> Callable[[Observable[T]], Observable[R]]:
    """Emit ``mapper(value)`` for each value; an exception the mapper raises is the error."""

    def _map(source: Observable[T]) -> Observable[R]:
        def subscribe(
            observer: abc.ObserverBase[R], scheduler: abc.SchedulerBase | None = None
        ) -> abc.DisposableBase:
            mapping = _Mapping(observer, mapper)
            mapping.upstream.put(source.subscribe(mapping, scheduler=scheduler))
            return mapping.upstream

        return LeanObservable(subscribe)

    return _map


class _Mapping(abc.ObserverBase[T], Generic[T, R]):
    __slots__ = ("failed", "mapper", "observer", "upstream")

    def __init__(self, observer: abc.ObserverBase[R], mapper: Callable[[T], R]) -> None:
        self.observer, self.mapper, self.upstream, self.failed = observer, mapper, Slot(), False

    def on_next(self, value: T) -> None:
        if self.failed:
            return
        try:
            result = self.mapper(value)
        except Exception as error:
            self.failed = True
            self.upstream.dispose()
            self.observer.on_error(error)
            return
        self.observer.on_next(result)

    def on_error(self, error: Exception) -> None:
        if not self.failed:
            self.upstream.dispose()
            self.observer.on_error(error)

    def on_completed(self) -> None:
        if not self.failed:
            self.upstream.dispose()
            self.observer.on_completed()
