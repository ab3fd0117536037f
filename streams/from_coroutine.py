"""A coroutine as a cold observable.

::

    factory:      () -> coroutine that returns x
    subscribe:    ---------x|          (one task per subscription)
    dispose early:----X                (the task is cancelled)

The coroutine starts when the observable is subscribed, once per subscription, and disposing the
subscription before it finishes cancels its task, so an HTTP request made inside it is aborted.
A task made before subscription would be hot: already running, and cancelled for every subscriber
by the first one to leave (see ``docs/reactivex.md``), which is why the task is made on subscribe.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from reactivex import Observable, abc

from streams.lean import LeanObservable
from streams.subscriptions import NOTHING, Action

T = TypeVar("T")


def from_coroutine(factory: Callable[[], Awaitable[T]]) -> Observable[T]:
    """Return an observable that runs ``factory()`` as a task on each subscription."""

    def subscribe(
        observer: abc.ObserverBase[T], _scheduler: abc.SchedulerBase | None = None
    ) -> abc.DisposableBase:
        try:
            task = asyncio.ensure_future(factory())
        except Exception as error:
            observer.on_error(error)
            return NOTHING

        def done(finished: asyncio.Future[T]) -> None:
            if finished.cancelled():  # by someone else: a disposal removes this callback first
                # a BaseException, which observers' on_error is not typed for: the stream's error
                observer.on_error(asyncio.CancelledError())  # type: ignore[arg-type]
            elif (error := finished.exception()) is not None:
                # typed BaseException, but an Exception here: a cancellation is the branch above,
                # and asyncio raises KeyboardInterrupt and SystemExit out of the loop, not into a task
                observer.on_error(error)  # type: ignore[arg-type]
            else:
                observer.on_next(finished.result())
                observer.on_completed()

        def cancel() -> None:
            task.remove_done_callback(done)
            task.cancel()

        task.add_done_callback(done)
        return Action(cancel)

    return LeanObservable(subscribe)
