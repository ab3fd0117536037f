"""Exceptions that reach the event loop's handler instead of a caller, counted during a run.

An exception raised while reactivex delivers a value (in a subscriber, or in a disposal triggered by
one) never reaches the awaiting code: asyncio's default handler logs it and the run goes on. A
benchmark that silently timed that logging would mislead, so the run counts such exceptions, keeps
the first one, and fails loudly at the end instead.
"""

from __future__ import annotations

import asyncio
import traceback
from typing import Any


class LoopErrors:
    """An ``asyncio`` exception handler that counts what it is given and remembers the first."""

    def __init__(self) -> None:
        self.count = 0
        self.first: list[str] = []

    def __call__(self, _loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        self.count += 1
        if not self.first:
            self.first = _describe(context)


def _describe(context: dict[str, Any]) -> list[str]:
    message = str(context.get("message", "")).splitlines()[0]
    message = message if len(message) <= 100 else message[:100] + "..."
    error = context.get("exception")
    if error is None:
        return [message]
    frames = traceback.extract_tb(error.__traceback__)[-2:]
    where = [f"at {frame.filename}:{frame.lineno} in {frame.name}" for frame in frames]
    return [f"{type(error).__name__}: {error}", *where, f"({message})"]
