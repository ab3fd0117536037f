"""Send a second copy of a slow call, and keep whichever copy ends first.

::

    source:   ----------------x|       (the first copy is slow)
    after:    --h                      (h = after_s(), when subscribed; None: never hedge)
    copy:       ----y|                 (a second subscription, if may_hedge() at h)
    result:   ------y|                 (the copy ended first: the first is disposed, its call cancelled)

    source:   --X                      (fails before h: the error passes, no copy is sent)

The first copy to end, with a value or an error, wins and the other is disposed (``amb``). Whether
a copy may go out (a budget, free capacity) is asked of ``may_hedge`` at the moment it would; the
timer runs on the given scheduler. Only for calls that are safe to repeat.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import reactivex
from reactivex import Observable
from reactivex import operators as ops
from reactivex.abc import SchedulerBase

T = TypeVar("T")


def hedge(
    after_s: Callable[[], float | None], may_hedge: Callable[[], bool], scheduler: SchedulerBase
) -> Callable[[Observable[T]], Observable[T]]:
    """After ``after_s()`` seconds without an end, subscribe the source again if ``may_hedge()``."""

    def _hedge(source: Observable[T]) -> Observable[T]:
        def copy(_: Any) -> Observable[T]:
            return source if may_hedge() else reactivex.never()

        def hedged(_: Any) -> Observable[T]:
            delay = after_s()
            if delay is None:
                return source
            second = reactivex.timer(delay, scheduler=scheduler).pipe(ops.flat_map(copy))
            return source.pipe(ops.amb(second))

        return reactivex.defer(hedged)

    return _hedge
