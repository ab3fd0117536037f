"""Try the source again after it fails, waiting as long as the caller says, or give up.

::

    source:   --X                       (attempt 1 fails with X)
    delay:       ~~d~~                  (d = delay_before_retry(X, 1) on the scheduler)
    source:           --X'              (attempt 2, a new subscription; fails with X')
    give up:              X'|           (delay_before_retry(X', 2) is None: X' is the error)
    success:          ----v|            (a value ends the retrying)

``delay_before_retry(error, attempts)`` sees each error and the number of attempts made so far, and
answers the seconds to wait before the next one, or None to give up: which errors, how many
attempts, what backoff, whether there is time or budget left are all the caller's. Place it
upstream of a shared (replayed) result so that a retry re-runs only the call that failed. Waits
run on the given scheduler (no timer threads); disposing cancels the attempt or the wait in course.
reactivex's own ``retry`` resubscribes at once, with no wait and no say in which errors.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from reactivex import Observable, abc

from streams.lean import LeanObservable
from streams.scheduling import after
from streams.subscriptions import Slot

T = TypeVar("T")


def retry_with_backoff(
    delay_before_retry: Callable[[Exception, int], float | None], scheduler: abc.SchedulerBase
) -> Callable[[Observable[T]], Observable[T]]:
    """Resubscribe to the source after each error for which ``delay_before_retry`` gives a delay."""

    def _retry(source: Observable[T]) -> Observable[T]:
        def subscribe(
            observer: abc.ObserverBase[T], subscribe_scheduler: abc.SchedulerBase | None = None
        ) -> abc.DisposableBase:
            retrying = _Retrying(source, observer, delay_before_retry, scheduler, subscribe_scheduler)
            retrying.attempt()
            return retrying.current

        return LeanObservable(subscribe)

    return _retry


class _Retrying(abc.ObserverBase[T]):
    """One subscription's attempts. ``current`` holds the attempt in course or the wait before the
    next; it is let go of at the end, so nothing here outlives the stream."""

    __slots__ = (
        "attempts",
        "current",
        "delay_before_retry",
        "observer",
        "scheduler",
        "source",
        "subscribe_scheduler",
    )

    def __init__(
        self,
        source: Observable[T],
        observer: abc.ObserverBase[T],
        delay_before_retry: Callable[[Exception, int], float | None],
        scheduler: abc.SchedulerBase,
        subscribe_scheduler: abc.SchedulerBase | None,
    ) -> None:
        self.source, self.observer, self.delay_before_retry = source, observer, delay_before_retry
        self.scheduler, self.subscribe_scheduler = scheduler, subscribe_scheduler
        self.current, self.attempts = Slot(), 0

    def attempt(self) -> None:
        self.attempts += 1
        self.current.put(self.source.subscribe(self, scheduler=self.subscribe_scheduler))

    def on_next(self, value: T) -> None:
        self.observer.on_next(value)

    def on_completed(self) -> None:
        self.current.dispose()
        self.observer.on_completed()

    def on_error(self, error: Exception) -> None:
        try:
            delay = self.delay_before_retry(error, self.attempts)
        except Exception as policy_error:  # a broken policy fails the stream, visibly
            delay, error = None, policy_error
        if delay is None:
            self.current.dispose()
            self.observer.on_error(error)
        else:
            self.current.put(after(self.scheduler, delay, self.attempt))
