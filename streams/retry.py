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

from streams.lean import LeanObservable, Slot, after

T = TypeVar("T")


def retry_with_backoff(
    delay_before_retry: Callable[[Exception, int], float | None], scheduler: abc.SchedulerBase
) -> Callable[[Observable[T]], Observable[T]]:
    """Resubscribe to the source after each error for which ``delay_before_retry`` gives a delay."""

    def _retry(source: Observable[T]) -> Observable[T]:
        def subscribe(
            observer: abc.ObserverBase[T], subscribe_scheduler: abc.SchedulerBase | None = None
        ) -> abc.DisposableBase:
            current, attempts = Slot(), 0

            def attempt() -> None:
                nonlocal attempts
                attempts += 1
                current.put(
                    source.subscribe(
                        observer.on_next, failed, observer.on_completed, scheduler=subscribe_scheduler
                    )
                )

            def failed(error: Exception) -> None:
                try:
                    delay = delay_before_retry(error, attempts)
                except Exception as policy_error:  # a broken policy fails the stream, visibly
                    observer.on_error(policy_error)
                    return
                if delay is None:
                    observer.on_error(error)
                else:
                    current.put(after(scheduler, delay, attempt))

            attempt()
            return current

        return LeanObservable(subscribe)

    return _retry
