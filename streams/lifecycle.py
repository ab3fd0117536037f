"""Report a source's life: subscribed, each value, its end, and disposal before the end.

::

    source:     ----a----|
    callbacks:  S---N(a)-C            (S: on_subscribe, N: on_next, C: on_completed)
    source:     ----X                 -> on_error(X)
    disposed:   --(dispose)           -> on_cancel()   (only when nothing terminal came first)

Exactly one of ``on_completed``, ``on_error`` and ``on_cancel`` runs for each subscription that
``on_subscribe`` saw, which makes it the place to give back what the subscription took.

Used to time calls and to stream progress without a second code path: the callbacks watch the same
subscription that does the work. Callbacks run inside the operator, so an exception they raise is
delivered as the stream's error rather than lost in a subscriber (see ``docs/reactivex.md``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from reactivex import Observable, abc
from reactivex.disposable import CompositeDisposable, Disposable

T = TypeVar("T")


def _noop(*_args: Any) -> None:
    return None


def observe_lifecycle(
    on_subscribe: Callable[[], None] = _noop,
    on_next: Callable[[T], None] = _noop,
    on_error: Callable[[Exception], None] = _noop,
    on_cancel: Callable[[], None] = _noop,
    on_completed: Callable[[], None] = _noop,
) -> Callable[[Observable[T]], Observable[T]]:
    """Call the given callbacks as the source is subscribed, emits, ends, fails or is abandoned."""

    def _observe(source: Observable[T]) -> Observable[T]:
        def subscribe(observer: abc.ObserverBase[T], scheduler: abc.SchedulerBase | None = None):
            finished = False

            def next_(value: T) -> None:
                try:
                    on_next(value)
                except Exception as error:  # a failing callback fails the stream, visibly
                    error_(error)
                    return
                observer.on_next(value)

            def error_(error: Exception) -> None:
                nonlocal finished
                finished = True
                try:
                    on_error(error)
                except Exception as callback_error:  # delivered, not lost in the scheduler
                    error = callback_error
                observer.on_error(error)

            def completed() -> None:
                nonlocal finished
                finished = True
                try:
                    on_completed()
                except Exception as callback_error:  # delivered, not lost in the scheduler
                    observer.on_error(callback_error)
                    return
                observer.on_completed()

            def dispose() -> None:
                if not finished:
                    on_cancel()

            on_subscribe()
            inner = source.subscribe(next_, error_, completed, scheduler=scheduler)
            return CompositeDisposable(inner, Disposable(dispose))

        return Observable(subscribe)

    return _observe
