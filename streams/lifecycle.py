"""Report a source's life: subscribed, each value, its end, and disposal before the end.

::

    source:     ----a----|
    callbacks:  S---N(a)-C            (S: on_subscribe, N: on_next, C: on_completed)
    source:     ----X                 -> on_error(X)
    disposed:   --(dispose)           -> on_cancel()   (only when nothing terminal came first)

Exactly one of ``on_completed``, ``on_error`` and ``on_cancel`` runs for each subscription that
``on_subscribe`` saw, which makes it the place to give back what the subscription took. An
``on_subscribe`` that raises is the error, and the source is not subscribed.

Used to time calls and to stream progress without a second code path: the callbacks watch the same
subscription that does the work. Callbacks run inside the operator, so an exception they raise is
delivered as the stream's error rather than lost in a subscriber (see ``docs/reactivex.md``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from reactivex import Observable, abc

from streams.lean import LeanObservable
from streams.subscriptions import NOTHING, Many, Slot

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
    callbacks = (on_next, on_error, on_completed, on_cancel)

    def _observe(source: Observable[T]) -> Observable[T]:
        def subscribe(
            observer: abc.ObserverBase[T], scheduler: abc.SchedulerBase | None = None
        ) -> abc.DisposableBase:
            try:
                on_subscribe()
            except Exception as error:  # never begun: the error, and nothing to end or dispose
                observer.on_error(error)
                return NOTHING
            watch = _Lifecycle(observer, *callbacks)
            watch.upstream.put(source.subscribe(watch, scheduler=scheduler))
            return Many(watch.upstream, watch)

        return LeanObservable(subscribe)

    return _observe


class _Lifecycle(abc.ObserverBase[T], abc.DisposableBase):
    """The source's observer, and the disposal that reports a cancel if nothing ended first."""

    __slots__ = ("finished", "observer", "on_cancel_", "on_completed_", "on_error_", "on_next_", "upstream")

    def __init__(
        self,
        observer: abc.ObserverBase[T],
        on_next: Callable[[T], None],
        on_error: Callable[[Exception], None],
        on_completed: Callable[[], None],
        on_cancel: Callable[[], None],
    ) -> None:
        self.observer, self.finished, self.upstream = observer, False, Slot()
        self.on_next_, self.on_error_, self.on_completed_, self.on_cancel_ = (
            on_next,
            on_error,
            on_completed,
            on_cancel,
        )

    def on_next(self, value: T) -> None:
        try:
            self.on_next_(value)
        except Exception as error:  # a failing callback fails the stream, visibly
            self.upstream.dispose()
            self.on_error(error)
            return
        self.observer.on_next(value)

    def on_error(self, error: Exception) -> None:
        if self.finished:
            return
        self.finished = True
        self.upstream.dispose()
        try:
            self.on_error_(error)
        except Exception as callback_error:  # delivered, not lost in the scheduler
            error = callback_error
        self.observer.on_error(error)

    def on_completed(self) -> None:
        if self.finished:
            return
        self.finished = True
        self.upstream.dispose()
        try:
            self.on_completed_()
        except Exception as callback_error:  # delivered, not lost in the scheduler
            self.observer.on_error(callback_error)
            return
        self.observer.on_completed()

    def dispose(self) -> None:
        if not self.finished:
            self.finished = True
            self.on_cancel_()
