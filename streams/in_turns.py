"""Subscribers woken a few per turn of the loop, not all in one.

::

    source:           ---a|
    subscribers 1-8:  ---a|          (the turn after a's)
    subscribers 9-16: ---.a|         (the next turn: after what the first eight started)
    disposed first:   ---            (nothing, ever)

One answer that many consumers wait for (a call made once for a thousand backtests) wakes them all
in one turn of the event loop when each consumer is told synchronously: every consumer starts its
next call, and none of those calls is sent until the last consumer has started its own, so every
consumer waits for all of them. Woken a few per turn, the calls of the first consumers are on the
wire while later consumers are still being woken: the same work in all, and the median consumer
waits half as long for its next call to leave.

The subscribers share one :class:`Turns`, a queue served ``per_turn`` subscribers a turn on the
scheduler (the loop's in production; on a virtual clock a turn is the same tick, later). A
subscriber's notifications keep their order and are delivered together (a value and the completion
after it, in one turn); one disposed before its turn gets nothing.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Generic, TypeVar

from reactivex import Observable, abc

from streams.lean import LeanObservable
from streams.scheduling import soon
from streams.subscriptions import Slot

T = TypeVar("T")

#: Enough to spread a thousand wake-ups over a hundred-odd turns, few enough that the first
#: consumers' calls leave within a millisecond or two.
PER_TURN = 8


class Turns:
    """The subscribers waiting to be woken, oldest first, ``per_turn`` of them a turn."""

    def __init__(self, scheduler: abc.SchedulerBase, per_turn: int = PER_TURN) -> None:
        if per_turn < 1:
            raise ValueError("per_turn must be at least 1")
        self.scheduler, self.per_turn = scheduler, per_turn
        self._waiting: deque[Callable[[], None]] = deque()
        self._booked = False

    def __len__(self) -> int:
        return len(self._waiting)

    def add(self, wake: Callable[[], None]) -> None:
        self._waiting.append(wake)
        if not self._booked:
            self._book()

    def _book(self) -> None:
        self._booked = True
        soon(self.scheduler, self._turn)

    def _turn(self) -> None:
        waiting = self._waiting
        try:
            for _ in range(min(self.per_turn, len(waiting))):
                waiting.popleft()()
        finally:  # a consumer that raised (the loop reports it) does not strand the others
            self._booked = False
            if waiting:
                self._book()


def in_turns(turns: Turns) -> Callable[[Observable[T]], Observable[T]]:
    """Deliver what the source says to each subscriber in its turn of ``turns``."""

    def _in_turns(source: Observable[T]) -> Observable[T]:
        def subscribe(
            observer: abc.ObserverBase[T], scheduler: abc.SchedulerBase | None = None
        ) -> abc.DisposableBase:
            taking = _Taking(observer, turns)
            taking.upstream.put(source.subscribe(taking, scheduler=scheduler))
            return taking

        return LeanObservable(subscribe)

    return _in_turns


class _Taking(abc.ObserverBase[T], abc.DisposableBase, Generic[T]):
    """One subscriber: what the source said since its last turn, and whether it is still there."""

    __slots__ = ("observer", "pending", "turns", "upstream")

    def __init__(self, observer: abc.ObserverBase[T], turns: Turns) -> None:
        self.observer: abc.ObserverBase[T] | None = observer
        self.turns, self.upstream = turns, Slot()
        self.pending: list[Callable[[abc.ObserverBase[T]], None]] = []

    def _queue(self, notify: Callable[[abc.ObserverBase[T]], None]) -> None:
        if self.observer is None:
            return
        if not self.pending:
            self.turns.add(self._wake)
        self.pending.append(notify)

    def _wake(self) -> None:
        pending, self.pending = self.pending, []
        for notify in pending:
            if self.observer is None:  # disposed by what an earlier notification started
                return
            notify(self.observer)

    def on_next(self, value: T) -> None:
        self._queue(lambda observer: observer.on_next(value))

    def on_error(self, error: Exception) -> None:
        self.upstream.dispose()  # it has ended: let go of it (and it of us)
        self._queue(lambda observer: observer.on_error(error))

    def on_completed(self) -> None:
        self.upstream.dispose()
        self._queue(lambda observer: observer.on_completed())

    def dispose(self) -> None:
        self.observer = None
        self.pending = []
        self.upstream.dispose()
