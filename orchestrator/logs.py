"""structlog set up once: JSON lines to stdout by default, a readable console on request.

Context bound with ``structlog.contextvars`` (the request id, by the middleware) is merged into
every line logged while a request is handled, including the debug lines of its downstream calls.
"""

from __future__ import annotations

import logging
import sys

import orjson
import structlog


def configure_logging(level: str = "INFO", fmt: str = "json", *, cache: bool = True) -> None:
    """Set up structlog; tests pass ``cache=False`` so ``structlog.testing.capture_logs`` can see lines."""
    shared: list[structlog.typing.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    if fmt == "console":
        renderer: structlog.typing.Processor = structlog.dev.ConsoleRenderer()
        factory: structlog.typing.WrappedLogger = structlog.PrintLoggerFactory(sys.stdout)
    else:
        shared += [structlog.processors.dict_tracebacks]
        renderer = structlog.processors.JSONRenderer(serializer=orjson.dumps)
        factory = structlog.BytesLoggerFactory(sys.stdout.buffer)
    structlog.configure(
        processors=[*shared, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        logger_factory=factory,
        cache_logger_on_first_use=cache,
    )
