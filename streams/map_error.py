"""Translate a source's error into another exception.

::

    source:   ----X|          (X: any exception)
    result:   ----Y|          (Y = mapper(X))

Values and completion pass untouched. The mapper may return its argument to leave an error as it
is; an exception the mapper raises itself is the new error.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from reactivex import Observable, abc

from streams.lean import LeanObservable

T = TypeVar("T")


def map_error(mapper: Callable[[Exception], Exception]) -> Callable[[Observable[T]], Observable[T]]:
    """Replace the source's error ``e`` with ``mapper(e)``."""

    def _map_error(source: Observable[T]) -> Observable[T]:
        def subscribe(
            observer: abc.ObserverBase[T], scheduler: abc.SchedulerBase | None = None
        ) -> abc.DisposableBase:
            def on_error(error: Exception) -> None:
                try:
                    error = mapper(error)
                except Exception as mapper_error:
                    error = mapper_error
                observer.on_error(error)

            return source.subscribe(observer.on_next, on_error, observer.on_completed, scheduler=scheduler)

        return LeanObservable(subscribe)

    return _map_error
