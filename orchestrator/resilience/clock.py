"""The clock every mechanism reads: the scheduler's own, so that tests run them on virtual time."""

from __future__ import annotations

import time
from collections.abc import Callable

from reactivex.abc import SchedulerBase
from reactivex.scheduler import VirtualTimeScheduler

Clock = Callable[[], float]


def clock_of(scheduler: SchedulerBase) -> Clock:
    """Seconds: a virtual scheduler's ticks in tests, else the monotonic clock asyncio's loop uses.

    (``scheduler.now`` would not do: on the asyncio scheduler it is the wall clock, which jumps.)
    """
    if isinstance(scheduler, VirtualTimeScheduler):
        return lambda: scheduler.clock
    return time.monotonic
