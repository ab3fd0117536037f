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
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Generator
from typing import Any, Generic, TypeVar, cast

from reactivex import Observable, abc
from reactivex.scheduler.eventloop import AsyncIOScheduler

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


class Nothing(abc.DisposableBase):
    """The subscription of something that has already ended: there is nothing to dispose."""

    __slots__ = ()

    def dispose(self) -> None:
        return None


NOTHING = Nothing()


class Action(abc.DisposableBase):
    """Runs ``action`` on the first ``dispose``."""

    __slots__ = ("action",)

    def __init__(self, action: Callable[[], None]) -> None:
        self.action: Callable[[], None] | None = action

    def dispose(self) -> None:
        action, self.action = self.action, None
        if action is not None:
            action()


class Slot(abc.DisposableBase):
    """Holds the current subscription of something that may be replaced (a retry's next attempt):
    putting a new one disposes the old, and once the slot is disposed whatever is put is disposed."""

    __slots__ = ("current", "disposed")

    def __init__(self) -> None:
        self.current: abc.DisposableBase | None = None
        self.disposed = False

    def put(self, subscription: abc.DisposableBase) -> None:
        if self.disposed:
            subscription.dispose()
            return
        old, self.current = self.current, subscription
        if old is not None:
            old.dispose()

    def dispose(self) -> None:
        if not self.disposed:
            self.disposed = True
            current, self.current = self.current, None
            if current is not None:
                current.dispose()


class Many(abc.DisposableBase):
    """Several subscriptions disposed together."""

    __slots__ = ("items",)

    def __init__(self, *items: abc.DisposableBase) -> None:
        self.items: tuple[abc.DisposableBase, ...] | None = items

    def dispose(self) -> None:
        items, self.items = self.items, None
        for item in items or ():
            item.dispose()


# --- sources ---------------------------------------------------------------------------------------


def defer(factory: Callable[[abc.SchedulerBase | None], Observable[T]]) -> Observable[T]:
    """``factory(scheduler)`` made anew for each subscription (its error is the stream's)."""

    def subscribe(
        observer: abc.ObserverBase[T], scheduler: abc.SchedulerBase | None = None
    ) -> abc.DisposableBase:
        try:
            source = factory(scheduler)
        except Exception as error:
            observer.on_error(error)
            return NOTHING
        return source.subscribe(observer, scheduler=scheduler)

    return LeanObservable(subscribe)


def throw(error: Exception) -> Observable[Any]:
    """Fails at once with ``error``."""

    def subscribe(
        observer: abc.ObserverBase[Any], _scheduler: abc.SchedulerBase | None = None
    ) -> abc.DisposableBase:
        observer.on_error(error)
        return NOTHING

    return LeanObservable(subscribe)


def just(value: T) -> Observable[T]:
    """``value`` at once, then the end: a value already in hand, where a call would otherwise be."""

    def subscribe(
        observer: abc.ObserverBase[T], _scheduler: abc.SchedulerBase | None = None
    ) -> abc.DisposableBase:
        observer.on_next(value)
        observer.on_completed()
        return NOTHING

    return LeanObservable(subscribe)


# --- time ------------------------------------------------------------------------------------------


def after(scheduler: abc.SchedulerBase, seconds: float, action: Callable[[], None]) -> abc.DisposableBase:
    """Run ``action`` in ``seconds`` on ``scheduler``; disposing the result cancels it.

    On an ``AsyncIOScheduler`` this is one ``loop.call_later`` (its ``schedule_relative`` adds two
    disposables and a lock around it); any other scheduler, a test's virtual clock included, is
    asked through ``schedule_relative``.
    """
    loop = _running_loop(scheduler)
    if loop is not None:
        return _Handle(loop.call_later(max(0.0, seconds), action))
    return scheduler.schedule_relative(max(0.0, seconds), lambda *_: action())


def soon(scheduler: abc.SchedulerBase, action: Callable[[], None]) -> None:
    """Run ``action`` on a later turn of ``scheduler``, after what is already due: one
    ``loop.call_soon`` on an ``AsyncIOScheduler``, ``schedule`` on any other (a virtual clock's
    runs it at the same tick, after the action running now)."""
    loop = _running_loop(scheduler)
    if loop is not None:
        loop.call_soon(action)
    else:
        scheduler.schedule(lambda *_: action())


def _running_loop(scheduler: abc.SchedulerBase) -> asyncio.AbstractEventLoop | None:
    """The loop an ``AsyncIOScheduler`` schedules on, through public doors: the running loop.

    An ``AsyncIOScheduler`` is only ever used on its own loop's thread (it is not thread-safe;
    reactivex's ``AsyncIOThreadSafeScheduler``, a subclass and so not matched here, is for other
    threads), so the loop running now is the one it was made with. None for any other scheduler, or
    when no loop runs (then the scheduler is asked, and uses its own).
    """
    if type(scheduler) is not AsyncIOScheduler:
        return None
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


class _Handle(abc.DisposableBase):
    __slots__ = ("handle",)

    def __init__(self, handle: asyncio.TimerHandle) -> None:
        self.handle = handle

    def dispose(self) -> None:
        self.handle.cancel()
