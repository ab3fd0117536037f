"""map_value: each value through a function; the function's exception is the error."""

from __future__ import annotations

from reactivex.testing import TestScheduler

from streams import map_value
from tests.streams.marbles import Unguarded, cold, expect, span


class Broken(Exception):
    """What a source or a mapper fails with."""


def double(value: int) -> int:
    return value * 2


def test_each_value_is_mapped_and_the_end_passes():
    scheduler = TestScheduler()
    source = cold(scheduler, "-1-2|", {"1": 1, "2": 2})
    results = scheduler.start(lambda: source.pipe(map_value(double)))
    assert expect("-a-b|", {"a": 2, "b": 4}) == results.messages
    assert source.subscriptions == [span("^---!")]


def test_the_source_error_passes_and_the_mapper_is_not_asked():
    scheduler, error, seen = TestScheduler(), Broken("source"), list[int]()
    source = cold(scheduler, "--#", error=error)
    results = scheduler.start(lambda: source.pipe(map_value(seen.append)))
    assert expect("--#", error=error) == results.messages
    assert seen == []


def test_a_mapper_that_raises_is_the_error_and_the_source_is_disposed_then():
    scheduler, error = TestScheduler(), Broken("mapper")

    def fails_on_two(value: str) -> str:
        if value == "2":
            raise error
        return value

    source = cold(scheduler, "-1-2-3|")
    results = scheduler.start(lambda: source.pipe(map_value(fails_on_two)))
    assert expect("-1-#", error=error) == results.messages
    assert source.subscriptions == [span("^--!")]


def test_nothing_after_the_source_completes_though_it_says_more():
    scheduler = TestScheduler()
    source = Unguarded(scheduler, "-1|2")
    results = scheduler.start(lambda: source.pipe(map_value(str.upper)))
    assert expect("-1|") == results.messages
    assert source.subscriptions == [span("^-!")]


def test_nothing_after_the_source_fails_though_it_says_more():
    scheduler, error = TestScheduler(), Broken("source")
    source = Unguarded(scheduler, "-#2|", error=error)
    results = scheduler.start(lambda: source.pipe(map_value(str.upper)))
    assert expect("-#", error=error) == results.messages


def test_nothing_after_the_mapper_fails_though_the_source_says_more():
    scheduler, error, asked = TestScheduler(), Broken("mapper"), list[str]()

    def fails(value: str) -> str:
        asked.append(value)
        raise error

    results = scheduler.start(lambda: Unguarded(scheduler, "-12|").pipe(map_value(fails)))
    assert expect("-#", error=error) == results.messages
    assert asked == ["1"]


def test_disposal_disposes_the_source_and_nothing_comes_after():
    scheduler = TestScheduler()
    source = cold(scheduler, "-1---2|")
    results = scheduler.start(lambda: source.pipe(map_value(str.upper)), disposed=203)
    assert expect("-1") == results.messages
    assert source.subscriptions == [span("^--!")]
