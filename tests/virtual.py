"""The services on a virtual clock: a transport whose every exchange is a cold observable on a
reactivex ``TestScheduler``, answering as the fakes do after a delay in ticks.

Each call is recorded by name (``market_data.prices``, ``signals.active``, ...), so a test reads
when it was subscribed (the call started) and disposed (it ended, or was cancelled) from the cold
observable's own subscription log, to the tick.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any
from urllib.parse import urlsplit

import orjson
from reactivex import Observable
from reactivex.testing import ReactiveTest, TestScheduler
from reactivex.testing.coldobservable import ColdObservable

import fakes
from orchestrator.backtest.graph import Backtester
from orchestrator.cache.calls import CallCache
from orchestrator.clients.downstream import connect
from orchestrator.clients.transport import Answer, Request
from orchestrator.resilience.clock import clock_of
from orchestrator.settings import Settings

DELAY = 10  # ticks a call takes unless told otherwise
TODAY = date(2026, 11, 25)
NEVER = sys.maxsize  # reactivex's "not disposed yet" in a subscription log


class VirtualServices:
    """A transport: ``delays`` by call name (default :data:`DELAY`), ``answers`` in place of the
    fakes' (an :class:`Answer`), ``errors`` raised instead of answering, ``stalled`` never answer."""

    def __init__(
        self,
        scheduler: TestScheduler,
        delays: Mapping[str, int] | None = None,
        answers: Mapping[str, Answer] | None = None,
        errors: Mapping[str, Exception] | None = None,
        stalled: Iterable[str] = (),
    ) -> None:
        self.scheduler = scheduler
        self.delays, self.answers, self.errors = delays or {}, answers or {}, errors or {}
        self.stalled = set(stalled)
        self.calls: dict[str, list[ColdObservable[Answer]]] = {}

    def send(self, request: Request) -> Observable[Answer]:
        path = urlsplit(request.url).path
        body = orjson.loads(request.body or b"{}")
        name = fakes.call_name(path, body)
        call = self.scheduler.create_cold_observable(self._script(name, path, body))
        self.calls.setdefault(name, []).append(call)
        return call

    def _script(self, name: str, path: str, body: dict[str, Any]) -> list[Any]:
        delay = self.delays.get(name, DELAY)
        if name in self.stalled:
            return []
        if name in self.errors:
            return [ReactiveTest.on_error(delay, self.errors[name])]
        answer = self.answers.get(name) or Answer(200, orjson.dumps(fakes.answer(path, body)))
        return [ReactiveTest.on_next(delay, answer), ReactiveTest.on_completed(delay)]

    def started(self, name: str) -> float:
        """The tick the call was subscribed (its request sent)."""
        return self._subscription(name).subscribe

    def ended(self, name: str) -> float:
        """The tick the call was disposed: answered, or cancelled; :data:`NEVER` while in flight."""
        return self._subscription(name).unsubscribe

    def subscriptions(self, name: str) -> int:
        """How many times the call was made over the wire."""
        return sum(len(call.subscriptions) for call in self.calls.get(name, []))

    def _subscription(self, name: str) -> Any:
        [call] = self.calls[name]
        [subscription] = call.subscriptions
        return subscription


#: The graph alone: one attempt per call, no hedges (the tests of those turn them on).
PLAIN = {"retry": {"max_attempts": 1}, "hedge": {"enabled": False}}


class MaxJitter:
    """In place of ``random.Random``: every backoff waits its longest, so tests know the tick."""

    def uniform(self, low: float, high: float) -> float:
        return high


def backtester(
    scheduler: TestScheduler,
    services: VirtualServices,
    *,
    timeout: int = 100,
    deadline: int = 600,
    **settings: Any,
) -> Backtester:
    """The app's backtester on the virtual services: per-attempt timeouts and the deadline in ticks;
    ``settings`` override :data:`PLAIN` (e.g. ``retry={"max_attempts": 3}``). Its cache is on, as
    in the app, and today is :data:`TODAY` (the fakes' dates are long past)."""
    values = {**PLAIN, "timeout": {"attempt_s": timeout}, **settings}
    settings_ = Settings(_env_file=None, **values)
    downstream = connect(
        settings_,
        services,  # type: ignore[arg-type]
        scheduler,
        rng=MaxJitter(),
    )
    cache = CallCache.from_config(settings_.cache, clock_of(scheduler), today=lambda: TODAY)
    return Backtester(downstream, deadline, risk_free_rate_annual=0.0, cache=cache)
