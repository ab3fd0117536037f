"""Running an action later on a scheduler: the timers of the operators that wait.

::

    after(s, 5, f):   -----f        (disposing the result before then: f never runs)
    soon(s, f):       (now)f        (the same moment, after what is already due)

Every time-based operator here (``timeout``, ``retry``, ``hedge``, ``in_turns``) waits through
these two, on the scheduler it is given: an ``AsyncIOScheduler`` in the app, a ``TestScheduler``
in the tests. Without a scheduler reactivex's own time operators start a ``threading.Timer`` each
(``docs/reactivex.md``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from reactivex import abc
from reactivex.scheduler.eventloop import AsyncIOScheduler


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
