"""in_turns: the subscribers of one source woken a few per turn, each between the work of the last."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from reactivex import Observable
from reactivex.scheduler.eventloop import AsyncIOScheduler
from reactivex.subject import Subject
from reactivex.testing import ReactiveTest, TestScheduler
from reactivex.testing.mockobserver import MockObserver

from streams import Turns, in_turns, share_replay
from tests.streams.marbles import Unguarded, expect, span

on_next, on_completed, on_error = ReactiveTest.on_next, ReactiveTest.on_completed, ReactiveTest.on_error


class CallFailed(Exception):
    """The shared call's error."""


def consumers(scheduler: TestScheduler, shared: Observable[Any], count: int) -> list[MockObserver[Any]]:
    observers = [scheduler.create_observer() for _ in range(count)]
    for observer in observers:
        scheduler.schedule_absolute(200, lambda *_, o=observer: shared.subscribe(o))
    return observers


def test_every_subscriber_gets_the_value_and_the_end_at_the_tick_they_came():
    scheduler = TestScheduler()
    source = scheduler.create_cold_observable(on_next(50, "a"), on_completed(50))
    shared = source.pipe(share_replay(), in_turns(Turns(scheduler, per_turn=2)))
    observers = consumers(scheduler, shared, 5)
    scheduler.start()
    for observer in observers:
        assert observer.messages == [on_next(250, "a"), on_completed(250)]


def test_the_work_a_turn_starts_runs_before_the_next_turn_wakes_anyone():
    scheduler = TestScheduler()
    log: list[str] = []
    source: Subject[str] = Subject()
    turns = Turns(scheduler, per_turn=2)
    for k in range(5):
        # each subscriber, woken, starts its next step: on the scheduler, as a call's task would be
        def woken(_value: str, k: int = k) -> None:
            log.append(f"woken {k}")
            scheduler.schedule(lambda *_: log.append(f"step {k}"))

        source.pipe(in_turns(turns)).subscribe(woken)
    scheduler.schedule_absolute(10, lambda *_: source.on_next("a"))
    scheduler.start()
    assert log == [
        "woken 0", "woken 1", "step 0", "step 1",
        "woken 2", "woken 3", "step 2", "step 3",
        "woken 4", "step 4",
    ]  # fmt: skip


def test_a_subscriber_gone_before_its_turn_gets_nothing():
    scheduler = TestScheduler()
    source: Subject[str] = Subject()
    turns = Turns(scheduler, per_turn=1)
    first, second = scheduler.create_observer(), scheduler.create_observer()
    source.pipe(in_turns(turns)).subscribe(first)
    leaving = source.pipe(in_turns(turns)).subscribe(second)

    def emit(*_: Any) -> None:
        source.on_next("a")
        source.on_completed()
        leaving.dispose()  # after the value, before its turn

    scheduler.schedule_absolute(10, emit)
    scheduler.start()
    assert first.messages == [on_next(10, "a"), on_completed(10)]
    assert second.messages == []
    assert len(turns) == 0


def test_a_subscriber_that_leaves_lets_go_of_the_source():
    scheduler = TestScheduler()
    source = scheduler.create_cold_observable(on_next(50, "a"), on_completed(50))
    results = scheduler.start(lambda: source.pipe(in_turns(Turns(scheduler))), disposed=220)
    assert source.subscriptions == [ReactiveTest.subscribe(200, 220)]
    assert results.messages == []


def test_an_error_is_delivered_in_turn():
    scheduler = TestScheduler()
    error = CallFailed()
    source = scheduler.create_cold_observable(on_error(50, error))
    shared = source.pipe(share_replay(), in_turns(Turns(scheduler, per_turn=1)))
    observers = consumers(scheduler, shared, 3)
    scheduler.start()
    for observer in observers:
        assert observer.messages == [on_error(250, error)]


def test_a_turn_needs_room_for_one():
    with pytest.raises(ValueError, match="at least 1"):
        Turns(TestScheduler(), per_turn=0)


async def test_on_the_loop_each_turn_wakes_per_turn_subscribers():
    turns = Turns(AsyncIOScheduler(asyncio.get_running_loop()), per_turn=2)
    source: Subject[str] = Subject()
    woken: list[str] = []
    for _ in range(5):
        source.pipe(in_turns(turns)).subscribe(woken.append)
    source.on_next("a")
    assert woken == []  # not within the source's own turn
    counts = []
    for _ in range(3):
        await asyncio.sleep(0)
        counts.append(len(woken))
    assert counts == [2, 4, 5]


async def test_on_the_loop_a_subscriber_that_raises_does_not_strand_the_others(_loop_errors):
    turns = Turns(AsyncIOScheduler(asyncio.get_running_loop()), per_turn=2)
    source: Subject[str] = Subject()
    woken: list[int] = []

    def breaks(_value: str) -> None:
        raise CallFailed

    source.pipe(in_turns(turns)).subscribe(breaks)
    for k in range(3):
        source.pipe(in_turns(turns)).subscribe(lambda _value, k=k: woken.append(k))
    source.on_next("a")
    for _ in range(3):
        await asyncio.sleep(0)
    assert woken == [0, 1, 2]
    # the loop reports what the subscriber raised, as it would had the source told it at once
    assert [type(context["exception"]) for context in _loop_errors] == [CallFailed]
    _loop_errors.clear()


def test_nothing_after_the_completion_though_the_source_says_more():
    scheduler = TestScheduler()
    source = Unguarded(scheduler, "-a|b#", error=CallFailed("late"))
    results = scheduler.start(lambda: source.pipe(in_turns(Turns(scheduler))))
    assert expect("-a|") == results.messages
    assert source.subscriptions == [span("^-!")]


def test_nothing_after_the_error_though_the_source_says_more():
    scheduler, error = TestScheduler(), CallFailed("first")
    source = Unguarded(scheduler, "-#a|", error=error)
    results = scheduler.start(lambda: source.pipe(in_turns(Turns(scheduler))))
    assert expect("-#", error=error) == results.messages
    assert source.subscriptions == [span("^!")]
