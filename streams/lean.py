"""What every operator here is built on: an observable without reactivex's per-subscription costs.

reactivex's ``Observable.subscribe`` wraps each observer in an ``AutoDetachObserver``, routes the
subscription through the current-thread trampoline and hands out disposables that each make a
re-entrant lock. That safety net is for sources on any thread; ours all live on one event loop
and end once. A backtest subscribes about 150 times, and the net cost about 4 ms of CPU per
backtest, most of what the orchestrator spent (docs/performance.md). ``LeanObservable`` is still a
reactivex ``Observable`` (``pipe``, ``await``, every reactivex operator and test scheduler work with
it) but its ``subscribe`` calls the operator's subscribe function directly.

The contract each operator here keeps in exchange, since nothing wraps its observer:

* it sends nothing after its observer has had ``on_error`` or ``on_completed``;
* disposing its subscription stops it from sending anything, and disposes what it subscribed to;
* a function of the caller's that raises (a mapper, a callback) becomes the stream's error.

This module is the observable itself and awaiting it. What an operator is built from besides lives
beside it, one concern a module: the disposables a subscription is made of
(``streams/subscriptions.py``), the sources made from what is already in hand
(``streams/sources.py``) and the timers of the operators that wait (``streams/scheduling.py``).
The contract is held operator by operator in ``tests/streams/``, one test module per module here.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Generator
from typing import Any, Generic, TypeVar, cast

from reactivex import Observable, abc

T = TypeVar("T")

Subscribe = Callable[[abc.ObserverBase[Any], "abc.SchedulerBase | None"], abc.DisposableBase]


class NoValue(Exception):
    """An observable awaited (:func:`to_future`) completed without a value.

    Ours, where reactivex's own ``await`` raises its ``SequenceContainsNoElementsError``: that class
    lives in ``reactivex.internal``, which is not reactivex's public API, and nothing here tells the
    two apart (an empty completion is a bug of the graph's, never an answer).
    """

    def __init__(self) -> None:
        super().__init__("the observable completed without a value")


class LeanObservable(Observable[T], Generic[T]):
    """An observable whose subscription is one call of ``subscribe(observer, scheduler)``."""

    #: reactivex gives every observable a lock of its own; nothing here takes it.
    lock = threading.RLock()

    def __init__(self, subscribe: Subscribe) -> None:  # no super().__init__(): it makes the lock
        self._lean_subscribe = subscribe

    def subscribe(
        self,
        on_next: Any = None,
        on_error: Callable[[Exception], None] | None = None,
        on_completed: Callable[[], None] | None = None,
        *,
        scheduler: abc.SchedulerBase | None = None,
    ) -> abc.DisposableBase:
        observer: abc.ObserverBase[Any] = (
            on_next
            if callable(getattr(on_next, "on_next", None))
            # an observer by its shape: its functions are attributes, called with nothing between
            else cast(abc.ObserverBase[Any], Callbacks(on_next, on_error, on_completed))
        )
        return self._lean_subscribe(observer, scheduler)

    def _subscribe_core(
        self, observer: abc.ObserverBase[T], scheduler: abc.SchedulerBase | None = None
    ) -> abc.DisposableBase:
        return self._lean_subscribe(observer, scheduler)

    def pipe(self, *operators: Callable[[Any], Any]) -> Any:
        """``operators`` applied in turn: reactivex's ``pipe`` without its composition per call."""
        result: Any = self
        for operator in operators:
            result = operator(result)
        return result

    def __await__(self) -> Generator[Any, None, T]:
        """The last value, once the observable completes; cancelling the await disposes it."""
        return to_future(self).__await__()


def to_future(source: Observable[T]) -> asyncio.Future[T]:
    """A future of ``source``'s last value (:class:`NoValue` if it completes empty); cancelling the future
    disposes the subscription, which cancels whatever calls it has in flight."""
    future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
    outcome = _Outcome(future)
    subscription = source.subscribe(outcome)
    future.add_done_callback(lambda _: subscription.dispose())
    return future


class _Outcome(abc.ObserverBase[T]):
    __slots__ = ("future", "has_value", "value")

    value: T  # set by the first on_next: read only once has_value says so

    def __init__(self, future: asyncio.Future[T]) -> None:
        self.future, self.has_value = future, False

    def on_next(self, value: T) -> None:
        self.value, self.has_value = value, True

    def on_error(self, error: Exception) -> None:
        if not self.future.done():
            self.future.set_exception(error)

    def on_completed(self) -> None:
        if self.future.done():
            return
        if self.has_value:
            self.future.set_result(self.value)
        else:
            self.future.set_exception(NoValue())


def _ignore(*_: Any) -> None:
    return None


def _raise(error: Exception) -> None:
    raise error


class Callbacks:
    """An observer made of up to three functions, as ``subscribe(on_next, on_error, on_completed)``."""

    __slots__ = ("on_completed", "on_error", "on_next")

    def __init__(
        self,
        on_next: Callable[[Any], None] | None,
        on_error: Callable[[Exception], None] | None,
        on_completed: Callable[[], None] | None,
    ) -> None:
        self.on_next = on_next or _ignore
        self.on_error = on_error or _raise
        self.on_completed = on_completed or _ignore
