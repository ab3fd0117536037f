"""Translate a source's error into another exception.

::

    source:   ----X|          (X: any exception)
    result:   ----Y|          (Y = mapper(X))

Values and completion pass untouched. The mapper may return its argument to leave an error as it
is; exceptions the mapper raises itself propagate as the new error.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import reactivex
from reactivex import Observable
from reactivex import operators as ops

T = TypeVar("T")


def map_error(mapper: Callable[[Exception], Exception]) -> Callable[[Observable[T]], Observable[T]]:
    """Replace the source's error ``e`` with ``mapper(e)``."""

    def handler(error: Exception, _source: Observable[T]) -> Observable[T]:
        return reactivex.throw(mapper(error))

    return ops.catch(handler)
