"""Fixtures shared by the test suites."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import pytest
from aiohttp import web

from orchestrator.logs import configure_logging
from tests.serving import Client, Served, Serving


@pytest.fixture(autouse=True, scope="session")
def _quiet_logs() -> None:
    configure_logging("DEBUG", "console", cache=False)


@pytest.fixture(scope="session")
def _loop_errors() -> Iterator[list[dict[str, Any]]]:
    """Everything any event loop hands to its exception handler during the run.

    An exception raised in a callback (a subscriber, a dispose) never reaches the awaiting test;
    it only reaches this handler, so without this check such a bug passes silently.
    """
    seen: list[dict[str, Any]] = []
    original = asyncio.BaseEventLoop.call_exception_handler

    def record(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        seen.append(context)
        original(loop, context)

    asyncio.BaseEventLoop.call_exception_handler = record  # type: ignore[method-assign]
    yield seen
    asyncio.BaseEventLoop.call_exception_handler = original  # type: ignore[method-assign]


@pytest.fixture(autouse=True)
def _no_loop_errors(_loop_errors: list[dict[str, Any]]) -> Iterator[None]:
    _loop_errors.clear()
    yield
    errors = [f"{context.get('message')}: {context.get('exception')!r}" for context in _loop_errors]
    assert not errors, f"exceptions reached the event loop's handler: {errors}"


@pytest.fixture
async def _serving() -> AsyncIterator[Serving]:
    serving = Serving()
    yield serving
    await serving.close()


@pytest.fixture
def orchestrator_server(_serving: Serving) -> Callable[[web.Application], Awaitable[Served]]:
    """``await orchestrator_server(create_app(...))``: served as production serves it
    (``tests/serving.py``)."""
    return _serving.server


@pytest.fixture
def orchestrator_client(_serving: Serving) -> Callable[..., Awaitable[Client]]:
    """``await orchestrator_client(create_app(...))``: a client of it, served as production serves it."""
    return _serving.client
