"""Marble diagrams for the operators' tests, on reactivex's ``TestScheduler``.

One character is one tick, and a diagram starts at the tick it is subscribed: a source's at its
subscription, an expectation's at :data:`SUBSCRIBED`, the tick ``TestScheduler.start`` subscribes::

    -          a tick with nothing
    a-z, 0-9   a value: the character, or what ``values`` maps it to
    (ab)       several at one tick, the tick of its "(" (every character of it still counts a
               tick for what follows, as in RxJS: "(a|)" is three ticks long)
    |          completion
    #          the error (``error``: the very exception, compared by identity)
    ^  !       in :func:`span`: subscribed, disposed
    space      a tick with nothing too, to line a later subscription up under its source

So ``expect("--a|")`` is ``[on_next(202, "a"), on_completed(203)]``. reactivex's own
``marbles_testing`` parses the same notation but its cold observables keep no subscription log,
which is how these tests see what an operator disposed and when.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reactivex import abc
from reactivex.testing import ReactiveTest, TestScheduler
from reactivex.testing.coldobservable import ColdObservable
from reactivex.testing.recorded import Recorded
from reactivex.testing.subscription import Subscription

from streams.lean import LeanObservable

SUBSCRIBED = 200  # TestScheduler.start's subscription tick
DISPOSED = 1000  # and its disposal tick, unless told otherwise


def parse(diagram: str, values: Mapping[str, Any] | None = None, at: int = 0) -> list[tuple[int, str, Any]]:
    """The diagram's notifications as ``(tick, kind, value)``, the first character at tick ``at``;
    kind is reactivex's: ``N`` a value, ``E`` the error, ``C`` completion."""
    values = values or {}
    events: list[tuple[int, str, Any]] = []
    tick, group = at, None
    for char in diagram:
        now = tick if group is None else group
        if char == "(":
            group = tick
        elif char == ")":
            group = None
        elif char in "|#":
            events.append((now, "C" if char == "|" else "E", None))
        elif char not in "- ":
            events.append((now, "N", values.get(char, char)))
        tick += 1
    return events


def expect(
    diagram: str, values: Mapping[str, Any] | None = None, error: Exception | None = None
) -> list[Recorded[Any]]:
    """What the observer should see, from :data:`SUBSCRIBED`; put it on the left of ``==``
    (an error is matched by a predicate, which only works from the left)."""
    recorded = {"N": ReactiveTest.on_next, "C": lambda tick, _: ReactiveTest.on_completed(tick)}
    return [
        ReactiveTest.on_error(tick, _identical(_the(error, diagram)))
        if kind == "E"
        else recorded[kind](tick, value)
        for tick, kind, value in parse(diagram, values, at=SUBSCRIBED)
    ]


def cold(
    scheduler: TestScheduler,
    diagram: str,
    values: Mapping[str, Any] | None = None,
    error: Exception | None = None,
) -> ColdObservable[Any]:
    """A reactivex cold observable playing the diagram on each subscription; its
    ``subscriptions`` log when each subscription began and ended."""
    return scheduler.create_cold_observable(*_notifications(diagram, values, error))


def span(diagram: str) -> Subscription:
    """A subscription log entry: ``"^--!"`` is subscribed at 200 and disposed at 203; a ``^`` with no
    ``!`` is one still open when ``TestScheduler.start`` disposes everything (:data:`DISPOSED`)."""
    start = SUBSCRIBED + diagram.index("^")
    end = SUBSCRIBED + diagram.index("!") if "!" in diagram else DISPOSED
    return Subscription(start, end)


class Unguarded(LeanObservable[Any]):
    """A cold source as a lean operator's upstream can be: nothing wraps its observer, so it says all
    its diagram says, after its own end too, until it is disposed. reactivex's cold observables stop
    at their end (their ``subscribe`` wraps the observer), so they cannot show that an operator
    holds the contract itself. ``subscriptions`` is a log as a cold observable keeps one."""

    def __init__(
        self,
        scheduler: TestScheduler,
        diagram: str,
        values: Mapping[str, Any] | None = None,
        error: Exception | None = None,
    ) -> None:
        super().__init__(self._play)
        self.scheduler = scheduler
        self.messages = _notifications(diagram, values, error)
        self.subscriptions: list[Subscription] = []

    def _play(
        self, observer: abc.ObserverBase[Any], _: abc.SchedulerBase | None = None
    ) -> abc.DisposableBase:
        index = len(self.subscriptions)
        self.subscriptions.append(Subscription(int(self.scheduler.clock)))
        pending = [
            self.scheduler.schedule_relative(message.time, lambda *_, m=message: _say(m.value, observer))
            for message in self.messages
        ]
        return _Stop(self, index, pending)


class _Stop(abc.DisposableBase):
    def __init__(self, source: Unguarded, index: int, pending: list[abc.DisposableBase]) -> None:
        self.source, self.index, self.pending = source, index, pending

    def dispose(self) -> None:
        log = self.source.subscriptions
        if log[self.index].unsubscribe == Subscription(0).unsubscribe:  # the first dispose counts
            log[self.index] = Subscription(log[self.index].subscribe, int(self.source.scheduler.clock))
        for action in self.pending:
            action.dispose()


def _notifications(
    diagram: str, values: Mapping[str, Any] | None, error: Exception | None
) -> list[Recorded[Any]]:
    """The diagram as notifications a source plays (its error the exception itself)."""
    made = {
        "N": ReactiveTest.on_next,
        "E": lambda tick, _: ReactiveTest.on_error(tick, _the(error, diagram)),
        "C": lambda tick, _: ReactiveTest.on_completed(tick),
    }
    return [made[kind](tick, value) for tick, kind, value in parse(diagram, values)]


def _say(notification: Any, observer: abc.ObserverBase[Any]) -> None:
    """``notification`` to ``observer`` by its methods (``Notification.accept`` takes an observer
    for three functions unless it subclasses reactivex's ``ObserverBase``, and lean observers need not)."""
    if notification.kind == "N":
        observer.on_next(notification.value)
    elif notification.kind == "E":
        observer.on_error(notification.exception)
    else:
        observer.on_completed()


def _the(error: Exception | None, diagram: str) -> Exception:
    if error is None:
        raise ValueError(f"{diagram!r} has an error (#) and no error was given")
    return error


def _identical(error: Exception) -> Any:
    def matches(seen: Exception) -> bool:
        return seen is error

    return matches
