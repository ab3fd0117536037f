"""The lean observable's own doors: awaiting one, and its timers on an asyncio loop, through reactivex's
public API only (``streams/lean.py``)."""

from __future__ import annotations

import asyncio

import pytest
import reactivex
from reactivex.scheduler.eventloop import AsyncIOScheduler
from reactivex.testing import TestScheduler

from streams.lean import NoValue, to_future
from streams.scheduling import after, soon
from streams.sources import just


async def test_awaiting_an_empty_observable_is_no_value() -> None:
    with pytest.raises(NoValue):
        await to_future(reactivex.empty())


async def test_awaiting_gives_the_last_value() -> None:
    assert await just(3) == 3


async def test_after_runs_the_action_on_the_running_loop_when_due() -> None:
    loop = asyncio.get_running_loop()
    fired = loop.create_future()
    began = loop.time()
    after(AsyncIOScheduler(loop), 0.05, lambda: fired.set_result(loop.time()))
    assert await asyncio.wait_for(fired, 5) - began >= 0.05


async def test_after_disposed_never_runs() -> None:
    ran: list[int] = []
    after(AsyncIOScheduler(asyncio.get_running_loop()), 0.01, lambda: ran.append(1)).dispose()
    await asyncio.sleep(0.05)
    assert ran == []


def test_after_with_no_loop_running_asks_the_scheduler_which_uses_its_own_loop() -> None:
    loop = asyncio.new_event_loop()
    try:
        ran: list[int] = []
        after(AsyncIOScheduler(loop), 0.0, lambda: ran.append(1))
        loop.run_until_complete(asyncio.sleep(0.02))
        assert ran == [1]
    finally:
        loop.close()


async def test_soon_runs_after_what_is_already_due() -> None:
    loop, order = asyncio.get_running_loop(), list[str]()
    loop.call_soon(order.append, "due")
    soon(AsyncIOScheduler(loop), lambda: order.append("soon"))
    order.append("now")
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert order == ["now", "due", "soon"]


def test_any_other_scheduler_is_asked_in_its_own_time() -> None:
    scheduler, ran = TestScheduler(), list[float]()
    after(scheduler, 5.0, lambda: ran.append(scheduler.clock))
    soon(scheduler, lambda: ran.append(scheduler.clock))
    scheduler.start()
    assert ran == [0.0, 5.0]
