"""map_error: replace a source's error with the mapper's exception; values and completion pass."""

from __future__ import annotations

from reactivex.testing import ReactiveTest, TestScheduler

from streams import map_error
from tests.streams.marbles import Unguarded, cold, expect, span

on_next = ReactiveTest.on_next
on_completed = ReactiveTest.on_completed
on_error = ReactiveTest.on_error
subscribe = ReactiveTest.subscribe


class BackendDown(Exception):
    """The domain error a low-level failure is translated into."""


def to_backend_down(error: Exception) -> Exception:
    return BackendDown(f"backend down: {error}")


def test_error_is_replaced_by_the_mapper_exception() -> None:
    """The source's error reaches the consumer as mapper(error)."""
    scheduler = TestScheduler()
    source = scheduler.create_cold_observable(on_next(10, 1), on_error(20, ConnectionError("refused")))

    results = scheduler.start(lambda: source.pipe(map_error(to_backend_down)))

    expected = [
        on_next(210, 1),
        on_error(220, lambda e: isinstance(e, BackendDown) and str(e) == "backend down: refused"),
    ]
    assert expected == results.messages  # a predicate only matches from the left-hand side


def test_values_and_completion_pass_untouched() -> None:
    """Without an error the stream is unchanged and the mapper is never called."""
    scheduler = TestScheduler()
    source = scheduler.create_cold_observable(on_next(10, 1), on_next(20, 2), on_completed(30))
    mapped: list[Exception] = []

    def mapper(error: Exception) -> Exception:
        mapped.append(error)
        return error

    results = scheduler.start(lambda: source.pipe(map_error(mapper)))

    assert results.messages == [on_next(210, 1), on_next(220, 2), on_completed(230)]
    assert source.subscriptions == [subscribe(200, 230)]
    assert mapped == []


def test_exception_raised_by_the_mapper_becomes_the_error() -> None:
    """If the mapper itself raises, that exception is the stream's error."""
    scheduler = TestScheduler()
    source = scheduler.create_cold_observable(on_error(20, ConnectionError("refused")))
    broken = RuntimeError("mapper bug")

    def mapper(error: Exception) -> Exception:
        raise broken

    results = scheduler.start(lambda: source.pipe(map_error(mapper)))

    assert [on_error(220, lambda e: e is broken)] == results.messages


def test_nothing_after_the_error_though_the_source_says_more() -> None:
    """The source is let go of at its error, so what it says after reaches no one."""
    scheduler, error = TestScheduler(), ConnectionError("refused")
    source = Unguarded(scheduler, "-#1|", error=error)

    results = scheduler.start(lambda: source.pipe(map_error(to_backend_down)))

    assert [on_error(201, lambda e: isinstance(e, BackendDown))] == results.messages
    assert source.subscriptions == [span("^!")]


def test_nothing_after_the_completion_though_the_source_says_more() -> None:
    scheduler = TestScheduler()
    source = Unguarded(scheduler, "-1|2#", error=ConnectionError("late"))

    results = scheduler.start(lambda: source.pipe(map_error(to_backend_down)))

    assert expect("-1|") == results.messages
    assert source.subscriptions == [span("^-!")]


def test_disposal_disposes_the_source_and_nothing_comes_after() -> None:
    scheduler = TestScheduler()
    source = cold(scheduler, "-1---#", error=ConnectionError("late"))

    results = scheduler.start(lambda: source.pipe(map_error(to_backend_down)), disposed=203)

    assert expect("-1") == results.messages
    assert source.subscriptions == [span("^--!")]
