"""LeanObservable and awaiting it: still a reactivex observable (subscribe, pipe, await, the test
scheduler, reactivex's own operators) but one call per subscription, with nothing between."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import reactivex
from reactivex import abc
from reactivex import operators as ops
from reactivex.testing import TestScheduler

from streams import just, throw
from streams.lean import LeanObservable, NoValue, to_future
from streams.subscriptions import Action
from tests.streams.marbles import cold, expect, span


class Broken(Exception):
    """What a source fails with."""


class Recorder:
    """The subscribe function of a lean observable: keeps what it was called with."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, Any]] = []
        self.disposed = 0

    def __call__(self, observer: abc.ObserverBase[Any], scheduler: abc.SchedulerBase | None) -> Action:
        self.calls.append((observer, scheduler))
        return Action(self.dispose)

    def dispose(self) -> None:
        self.disposed += 1


def test_an_observer_is_handed_to_the_subscribe_function_as_it_is():
    recorder, observer, scheduler = Recorder(), TestScheduler().create_observer(), TestScheduler()
    LeanObservable(recorder).subscribe(observer, scheduler=scheduler)
    assert recorder.calls == [(observer, scheduler)]


def test_functions_given_to_subscribe_are_the_observer():
    seen: list[Any] = []
    just("a").subscribe(seen.append, seen.append, lambda: seen.append("end"))
    throw(error := Broken("x")).subscribe(seen.append, seen.append, lambda: seen.append("end"))
    assert seen == ["a", "end", error]


def test_an_error_with_no_function_to_take_it_is_raised_not_swallowed():
    with pytest.raises(Broken):
        throw(Broken("unheard")).subscribe(lambda _: None)


def test_the_subscription_is_what_the_subscribe_function_returns():
    recorder = Recorder()
    LeanObservable(recorder).subscribe(lambda _: None).dispose()
    assert recorder.disposed == 1


def test_pipe_applies_the_operators_in_turn():
    seen: list[Any] = []
    just(2).pipe(ops.map(lambda v: v + 1), ops.map(lambda v: v * 10)).subscribe(seen.append)
    assert seen == [30]


def test_reactivex_operators_and_the_test_scheduler_work_on_it():
    scheduler = TestScheduler()
    source = cold(scheduler, "-1-2|")
    lean = LeanObservable(lambda observer, given: source.subscribe(observer, scheduler=given))
    results = scheduler.start(lambda: lean.pipe(ops.map(int), ops.sum()))
    assert expect("----(s|)", {"s": 3}) == results.messages
    assert source.subscriptions == [span("^---!")]


def test_it_works_inside_reactivex_operators_too():
    scheduler, error = TestScheduler(), Broken("b")
    results = scheduler.start(lambda: reactivex.concat(just("a"), throw(error)))
    assert expect("(a#)", error=error) == results.messages


async def test_awaiting_gives_the_last_value():
    assert await just(3) == 3
    several = reactivex.of(1, 2)
    assert await LeanObservable(lambda observer, given: several.subscribe(observer, scheduler=given)) == 2


async def test_awaiting_raises_the_error():
    error = Broken("awaited")
    with pytest.raises(Broken) as raised:
        await throw(error)
    assert raised.value is error


async def test_awaiting_an_observable_that_completes_empty_is_no_value():
    with pytest.raises(NoValue):
        await to_future(reactivex.empty())


async def test_cancelling_the_await_disposes_the_subscription():
    recorder = Recorder()
    waiting = asyncio.ensure_future(to_future(LeanObservable(recorder)))
    await asyncio.sleep(0)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    await asyncio.sleep(0)
    assert recorder.disposed == 1


async def test_nothing_after_the_end_reaches_the_future():
    def says_more(observer: abc.ObserverBase[Any], _: abc.SchedulerBase | None) -> Action:
        observer.on_next(1)
        observer.on_completed()
        observer.on_next(2)
        observer.on_error(Broken("late"))
        return Action(lambda: None)

    assert await to_future(LeanObservable(says_more)) == 1
