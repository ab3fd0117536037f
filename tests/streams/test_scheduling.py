"""after and soon: an action later on a scheduler, straight on the loop for an AsyncIOScheduler,
through reactivex's public API only."""

from __future__ import annotations

import asyncio

from reactivex.scheduler.eventloop import AsyncIOScheduler
from reactivex.testing import TestScheduler

from streams.scheduling import after, soon


def test_after_runs_the_action_at_its_tick_on_a_virtual_clock():
    scheduler, ran = TestScheduler(), list[float]()
    after(scheduler, 5.0, lambda: ran.append(scheduler.clock))
    scheduler.start()
    assert ran == [5.0]


def test_after_disposed_before_its_tick_never_runs_on_a_virtual_clock():
    scheduler, ran = TestScheduler(), list[float]()
    timer = after(scheduler, 5.0, lambda: ran.append(scheduler.clock))
    scheduler.schedule_absolute(4.0, lambda *_: timer.dispose())
    scheduler.start()
    assert ran == []


def test_after_a_negative_delay_runs_at_once():
    scheduler, ran = TestScheduler(), list[float]()
    scheduler.advance_to(10.0)
    after(scheduler, -3.0, lambda: ran.append(scheduler.clock))
    scheduler.start()
    assert ran == [10.0]


def test_soon_runs_at_the_same_tick_after_the_action_running_now():
    scheduler, order = TestScheduler(), list[tuple[str, float]]()

    def now(*_: object) -> None:
        soon(scheduler, lambda: order.append(("soon", scheduler.clock)))
        order.append(("now", scheduler.clock))

    scheduler.schedule_absolute(7.0, now)
    scheduler.start()
    assert order == [("now", 7.0), ("soon", 7.0)]


async def test_after_runs_the_action_on_the_running_loop_when_due():
    loop = asyncio.get_running_loop()
    fired = loop.create_future()
    began = loop.time()
    after(AsyncIOScheduler(loop), 0.05, lambda: fired.set_result(loop.time()))
    assert await asyncio.wait_for(fired, 5) - began >= 0.05


async def test_after_disposed_never_runs_on_the_loop():
    ran: list[int] = []
    after(AsyncIOScheduler(asyncio.get_running_loop()), 0.01, lambda: ran.append(1)).dispose()
    await asyncio.sleep(0.05)
    assert ran == []


def test_after_with_no_loop_running_asks_the_scheduler_which_uses_its_own_loop():
    loop = asyncio.new_event_loop()
    try:
        ran: list[int] = []
        after(AsyncIOScheduler(loop), 0.0, lambda: ran.append(1))
        loop.run_until_complete(asyncio.sleep(0.02))
        assert ran == [1]
    finally:
        loop.close()


async def test_soon_runs_after_what_is_already_due_on_the_loop():
    loop, order = asyncio.get_running_loop(), list[str]()
    loop.call_soon(order.append, "due")
    soon(AsyncIOScheduler(loop), lambda: order.append("soon"))
    order.append("now")
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert order == ["now", "due", "soon"]
