"""Wait for named single-value branches and emit one dict of their values.

::

    a:       ---1|
    b:       ------2|
    result:  ------{a: 1, b: 2}|
    b error: ---X                (a disposed at once: its call is cancelled)

``fork_join`` subscribes every branch at once, so they run concurrently; the first error ends the
join and disposes the others. A branch that completes empty completes the join with no value.
"""

from __future__ import annotations

from typing import Any

import reactivex
from reactivex import Observable
from reactivex import operators as ops


def join_named(**branches: Observable[Any]) -> Observable[dict[str, Any]]:
    """Run the branches concurrently; emit ``{name: last value}`` once all complete."""
    names = tuple(branches)
    return reactivex.fork_join(*branches.values()).pipe(
        ops.map(lambda values: dict(zip(names, values, strict=True)))
    )
