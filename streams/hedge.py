"""Send a second copy of a slow call, and keep whichever copy ends first.

::

    source:   ----------------x|       (the first copy is slow)
    after:    --h                      (h = after_s(), when subscribed; None: never hedge)
    copy:       ----y|                 (a second subscription, if may_hedge() at h)
    result:   ------y|                 (the copy ended first: the first is disposed, its call cancelled)

    source:   --X                      (fails before h: the error passes, no copy is sent)

The first copy to end, with a value or an error, wins and the other is disposed. Whether a copy may
go out (a budget, free capacity) is asked of ``may_hedge`` at the moment it would; the timer runs on
the given scheduler. Only for calls that are safe to repeat. An exception ``after_s`` or
``may_hedge`` raises is the error, and the copies are disposed.

It is one observable with one timer rather than ``amb`` over a ``timer`` and a ``flat_map``: it
wraps every call, and the composed form cost about a quarter of a millisecond a call.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

from reactivex import Observable, abc

from streams.lean import LeanObservable
from streams.scheduling import after
from streams.subscriptions import NOTHING, Slot

T = TypeVar("T")


def hedge(
    after_s: Callable[[], float | None], may_hedge: Callable[[], bool], scheduler: abc.SchedulerBase
) -> Callable[[Observable[T]], Observable[T]]:
    """After ``after_s()`` seconds without an end, subscribe the source again if ``may_hedge()``."""

    def _hedge(source: Observable[T]) -> Observable[T]:
        def subscribe(
            observer: abc.ObserverBase[T], subscribe_scheduler: abc.SchedulerBase | None = None
        ) -> abc.DisposableBase:
            try:
                delay = after_s()
            except Exception as error:  # a broken policy fails the call, visibly
                observer.on_error(error)
                return NOTHING
            if delay is None:
                return source.subscribe(observer, scheduler=subscribe_scheduler)
            race = _Race(observer)

            def send_copy() -> None:
                race.timer = None
                if race.winner is not None:
                    return
                try:
                    hedging = may_hedge()
                except Exception as error:  # a broken budget fails the call, visibly
                    race.fail(error)
                    return
                if hedging:
                    race.second = Slot()
                    race.second.put(source.subscribe(_Copy(race, 1), scheduler=subscribe_scheduler))

            race.timer = after(scheduler, delay, send_copy)
            race.first.put(source.subscribe(_Copy(race, 0), scheduler=subscribe_scheduler))
            return race

        return LeanObservable(subscribe)

    return _hedge


class _Race(abc.DisposableBase, Generic[T]):
    """Two copies of one call; the first to end wins, the other is disposed. Made for every call,
    so it is lean: the second copy's slot is made only when that copy is sent, and disposing the
    race (the subscription) ends both copies and the timer."""

    __slots__ = ("first", "observer", "second", "timer", "winner")

    def __init__(self, observer: abc.ObserverBase[T]) -> None:
        self.observer = observer
        self.first = Slot()
        self.second: Slot | None = None
        self.timer: abc.DisposableBase | None = None
        self.winner: int | None = None

    def dispose(self) -> None:
        self.first.dispose()
        if self.second is not None:
            self.second.dispose()
        self._stop_timer()

    def fail(self, error: Exception) -> None:
        """End the race with ``error``: neither copy wins, both are disposed."""
        self.winner = -1
        self.dispose()
        self.observer.on_error(error)

    def _stop_timer(self) -> None:
        timer, self.timer = self.timer, None
        if timer is not None:
            timer.dispose()

    def won(self, copy: int) -> bool:
        if self.winner is None:
            self.winner = copy
            loser = self.second if copy == 0 else self.first
            if loser is not None:
                loser.dispose()
            self._stop_timer()
        return self.winner == copy


class _Copy(abc.ObserverBase[T]):
    __slots__ = ("copy", "race")

    def __init__(self, race: _Race[T], copy: int) -> None:
        self.race, self.copy = race, copy

    def on_next(self, value: T) -> None:
        if self.race.won(self.copy):
            self.race.observer.on_next(value)

    def on_error(self, error: Exception) -> None:
        if self.race.won(self.copy):
            self.race.dispose()
            self.race.observer.on_error(error)

    def on_completed(self) -> None:
        if self.race.won(self.copy):
            self.race.dispose()
            self.race.observer.on_completed()
