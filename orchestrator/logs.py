"""structlog set up once: JSON lines to stdout by default, a readable console on request.

Context bound with ``structlog.contextvars`` (the request id, by the middleware) is merged into
every line logged while a request is handled, including the debug lines of its downstream calls.

A client or a service must not be able to make our logs large: tracebacks carry no frame locals
(a local can hold a whole request body), at most ``MAX_FRAMES`` frames, and every string in a line
is cut to ``max_chars`` (``LOG_VALUE_CHARS``), every list to ``MAX_ITEMS``, whatever it came from.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from typing import Any, BinaryIO

import orjson
import structlog
from structlog.tracebacks import ExceptionDictTransformer

MAX_FRAMES = 20
MAX_ITEMS = 50
MAX_DEPTH = 6


def configure_logging(
    level: str = "INFO",
    fmt: str = "json",
    *,
    cache: bool = True,
    max_chars: int = 256,
    stream: BinaryIO | None = None,
) -> None:
    """Set up structlog, writing to stdout (or ``stream``, JSON only); tests pass ``cache=False`` so
    ``structlog.testing.capture_logs`` can see lines."""
    shared: list[structlog.typing.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    if fmt == "console":
        renderer: structlog.typing.Processor = structlog.dev.ConsoleRenderer(
            exception_formatter=structlog.dev.plain_traceback
        )
        factory: structlog.typing.WrappedLogger = structlog.PrintLoggerFactory(sys.stdout)
    else:
        transformer = ExceptionDictTransformer(show_locals=False, max_frames=MAX_FRAMES)
        shared += [structlog.processors.ExceptionRenderer(transformer)]
        renderer = structlog.processors.JSONRenderer(serializer=orjson.dumps)
        factory = structlog.BytesLoggerFactory(stream or sys.stdout.buffer)
    structlog.configure(
        processors=[*shared, Truncate(max_chars), renderer],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        logger_factory=factory,
        cache_logger_on_first_use=cache,
    )


class Truncate:
    """A processor: each string cut to ``max_chars``, each list to ``MAX_ITEMS``, nesting to ``MAX_DEPTH``."""

    def __init__(self, max_chars: int) -> None:
        self.max_chars = max_chars

    def __call__(
        self, _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
    ) -> MutableMapping[str, Any]:
        for key, value in event_dict.items():
            event_dict[key] = self._cut(value, 0)
        return event_dict

    def _cut(self, value: Any, depth: int) -> Any:
        if isinstance(value, str):
            return value if len(value) <= self.max_chars else value[: self.max_chars] + "…"
        if depth >= MAX_DEPTH:
            return value if isinstance(value, int | float | bool) or value is None else "…"
        if isinstance(value, dict):
            return {
                self._cut(str(k), depth + 1): self._cut(v, depth + 1)
                for k, v in list(value.items())[:MAX_ITEMS]
            }
        if isinstance(value, list | tuple):
            return [self._cut(item, depth + 1) for item in value[:MAX_ITEMS]]
        return value
