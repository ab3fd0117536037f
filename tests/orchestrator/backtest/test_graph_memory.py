"""A backtest leaves no cyclic garbage: once answered, reference counting frees all of it at once,
so memory follows the backtests in flight rather than the garbage collector's schedule."""

from __future__ import annotations

import gc

from reactivex.testing import TestScheduler

import fakes
from orchestrator.backtest.calls import CallTracker
from orchestrator.backtest.graph import Backtester
from orchestrator.schemas.requests import parse_backtest
from tests.virtual import VirtualServices, backtester


def test_an_answered_backtest_leaves_nothing_for_the_garbage_collector():
    scheduler = TestScheduler()
    app = backtester(scheduler, VirtualServices(scheduler), retry={"max_attempts": 3})
    answers = [backtest(app, scheduler)]  # the first also makes what is made once (types, caches)
    gc.collect()
    gc.disable()
    try:
        answers.append(backtest(app, scheduler, ticker="SPY"))  # not from the cache: every call made
        unreachable = gc.collect()
    finally:
        gc.enable()
    assert all(isinstance(answer, dict) for answer in answers)
    assert unreachable == 0


def backtest(app: Backtester, scheduler: TestScheduler, ticker: str = "TQQQ") -> object:
    answers: list[object] = []
    request = parse_backtest(fakes.backtest_request(market_params__ticker=ticker))
    app.graph(request, CallTracker(), app.context("rid")).subscribe(answers.append)
    scheduler.advance_by(1000)
    [answer] = answers
    return answer
