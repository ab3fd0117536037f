"""Send a second copy of a slow call, and keep whichever copy ends first.

::

    source:   ----------------x|       (the first copy is slow)
    after:    --h                      (h = after_s(), when subscribed; None: never hedge)
    copy:       ----y|                 (a second subscription, if may_hedge() at h)
    result:   ------y|                 (the copy ended first: the first is disposed, its call cancelled)

    source:   --X                      (fails before h: the error passes, no copy is sent)

The first copy to end, with a value or an error, wins and the other is disposed. Whether a copy may
go out (a budget, free capacity) is asked of ``may_hedge`` at the moment it would; the timer runs on
the given scheduler. Only for calls that are safe to repeat.

It is one observable with one timer rather than ``amb`` over a ``timer`` and a ``flat_map``: it
wraps every call, and the composed form cost about a quarter of a millisecond a call.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from reactivex import Observable, abc
from reactivex.disposable import CompositeDisposable, SingleAssignmentDisposable

T = TypeVar("T")


def hedge(
    after_s: Callable[[], float | None], may_hedge: Callable[[], bool], scheduler: abc.SchedulerBase
) -> Callable[[Observable[T]], Observable[T]]:
    """After ``after_s()`` seconds without an end, subscribe the source again if ``may_hedge()``."""

    def _hedge(source: Observable[T]) -> Observable[T]:
        def subscribe(observer: abc.ObserverBase[T], subscribe_scheduler: abc.SchedulerBase | None = None):
            delay = after_s()
            if delay is None:
                return source.subscribe(observer, scheduler=subscribe_scheduler)
            first, second, timer = (
                SingleAssignmentDisposable(),
                SingleAssignmentDisposable(),
                SingleAssignmentDisposable(),
            )
            winner: list[SingleAssignmentDisposable] = []  # the copy that ended first, once known

            def copy(
                mine: SingleAssignmentDisposable, other: SingleAssignmentDisposable
            ) -> abc.DisposableBase:
                def won() -> bool:
                    if not winner:
                        winner.append(mine)
                        other.dispose()
                        timer.dispose()
                    return winner[0] is mine

                def on_next(value: T) -> None:
                    if won():
                        observer.on_next(value)

                def on_error(error: Exception) -> None:
                    if won():
                        observer.on_error(error)

                def on_completed() -> None:
                    if won():
                        observer.on_completed()

                return source.subscribe(on_next, on_error, on_completed, scheduler=subscribe_scheduler)

            def send_copy(*_: Any) -> None:
                if not winner and may_hedge():
                    second.disposable = copy(second, first)

            timer.disposable = scheduler.schedule_relative(delay, send_copy)
            first.disposable = copy(first, second)
            return CompositeDisposable(first, second, timer)

        return Observable(subscribe)

    return _hedge
