"""The fake services over HTTP, answering as the tests' small fakes or the benchmarks' realistic
answers: one app, the same choice of answer."""

from __future__ import annotations

import pytest

import fakes
from fakes.realistic import LONG_TRADING_DAYS, TRADING_DAYS, Market, Payloads, backtest_request
from fakes.services import CallLog, fake_services
from orchestrator.schemas.requests import parse_backtest

BASELINE_SIMULATION = {"initial_capital": 10000, "investment_per_trade": 10000}
ACTIVE_SIMULATION = {"initial_capital": 10000, "investment_per_trade": 100}


async def test_the_small_answers_are_the_fakes(aiohttp_client):
    client = await aiohttp_client(fake_services())
    answer = await client.post("/signals", json={"strategy_type": "buy_and_hold"})
    assert await answer.json() == fakes.signals("buy_and_hold")


@pytest.mark.parametrize(
    ("path", "body", "call"),
    [
        ("/prices", {}, "market_data.prices"),
        ("/dividends", {}, "market_data.dividends"),
        ("/signals", {"strategy_type": "buy_the_dip"}, "signals.active"),
        ("/signals", {"strategy_type": "buy_and_hold"}, "signals.baseline"),
        ("/simulate", ACTIVE_SIMULATION, "simulate.active"),
        ("/simulate", BASELINE_SIMULATION, "simulate.baseline"),
        ("/calculate", {}, "metrics"),
    ],
)
async def test_the_realistic_answers_are_chosen_by_the_call_asked(aiohttp_client, path, body, call):
    payloads = Payloads.build(20)
    client = await aiohttp_client(fake_services(answers=payloads.answerer()))
    answer = await client.post(path, json=body)
    assert await answer.read() == payloads.encoded()[call]


def test_the_realistic_answers_cover_every_call():
    assert sorted(Payloads.build(20).encoded()) == sorted(fakes.CALLS)


async def test_the_log_notes_each_call_started_and_ended(aiohttp_client):
    log = CallLog()
    client = await aiohttp_client(fake_services(log=log))
    await client.post("/prices", json={})
    assert (list(log.started), list(log.ended), log.cancelled) == (["/prices"], ["/prices"], [])


@pytest.mark.parametrize("days", [TRADING_DAYS, LONG_TRADING_DAYS])
def test_the_realistic_request_is_one_the_orchestrator_takes_for_the_years_answered(days):
    request = parse_backtest(backtest_request(days))
    first, last = Market.build(days).dates[0], Market.build(days).dates[-1]
    assert request.market_params.start_date <= first and last <= request.market_params.end_date
