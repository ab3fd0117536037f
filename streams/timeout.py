"""Fail with an error of the caller's choosing when no value arrives in time.

::

    source:   ------------x|
    timeout:  ----E                 (E = error_factory(); the source is disposed)

``ops.timeout``'s own error is a bare ``Exception('Timeout')``, and without a scheduler it starts a
``threading.Timer`` per subscription, so this wrapper always takes an asyncio scheduler and an error
factory. The factory runs when the timer fires, so it can describe what was pending at that moment.
Disposing the source on timeout is what cancels the call in flight.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import reactivex
from reactivex import Observable
from reactivex import operators as ops
from reactivex.abc import SchedulerBase

T = TypeVar("T")


def timeout_after(
    seconds: float,
    scheduler: SchedulerBase,
    error_factory: Callable[[], Exception],
) -> Callable[[Observable[T]], Observable[T]]:
    """Error with ``error_factory()`` if the source has not emitted within ``seconds``."""
    on_timeout: Observable[T] = reactivex.defer(lambda _: reactivex.throw(error_factory()))
    return ops.timeout(seconds, other=on_timeout, scheduler=scheduler)
