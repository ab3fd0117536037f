"""Translate a source's error into another exception.

::

    source:   ----X|          (X: any exception)
    result:   ----Y|          (Y = mapper(X))

Values and completion pass untouched. The mapper may return its argument to leave an error as it
is; an exception the mapper raises itself is the new error.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

from reactivex import Observable, abc

from streams.lean import LeanObservable
from streams.subscriptions import Slot

T = TypeVar("T")


def map_error(mapper: Callable[[Exception], Exception]) -> Callable[[Observable[T]], Observable[T]]:
    """Replace the source's error ``e`` with ``mapper(e)``."""

    def _map_error(source: Observable[T]) -> Observable[T]:
        def subscribe(
            observer: abc.ObserverBase[T], scheduler: abc.SchedulerBase | None = None
        ) -> abc.DisposableBase:
            translating = _Translating(observer, mapper)
            translating.upstream.put(source.subscribe(translating, scheduler=scheduler))
            return translating.upstream

        return LeanObservable(subscribe)

    return _map_error


class _Translating(abc.ObserverBase[T], Generic[T]):
    """The source's observer: passes values on and lets go of the source at its end."""

    __slots__ = ("ended", "mapper", "observer", "upstream")

    def __init__(self, observer: abc.ObserverBase[T], mapper: Callable[[Exception], Exception]) -> None:
        self.observer, self.mapper, self.upstream, self.ended = observer, mapper, Slot(), False

    def on_next(self, value: T) -> None:
        if not self.ended:
            self.observer.on_next(value)

    def on_error(self, error: Exception) -> None:
        if self.ended:
            return
        self.ended = True
        self.upstream.dispose()
        try:
            error = self.mapper(error)
        except Exception as mapper_error:
            error = mapper_error
        self.observer.on_error(error)

    def on_completed(self) -> None:
        if not self.ended:
            self.ended = True
            self.upstream.dispose()
            self.observer.on_completed()
