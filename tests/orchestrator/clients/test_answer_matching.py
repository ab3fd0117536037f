"""An answer to another question than the one asked is refused: another ticker, range, frequency or
strategy, or signals on days that are not the prices'. EXTERNAL_API_ERROR in our words, not retried,
never cached."""

from __future__ import annotations

from collections import Counter
from typing import Any

import orjson
import pytest
import reactivex
from aiohttp import web
from reactivex import Observable
from reactivex.testing import TestScheduler

import fakes
from fakes.services import fake_services
from orchestrator.clients.context import CallContext
from orchestrator.clients.market_data import MarketDataClient
from orchestrator.clients.service import ServiceClient
from orchestrator.clients.strategy import StrategyClient
from orchestrator.clients.transport import Answer, Request
from orchestrator.errors import ApiError
from orchestrator.registry import SERVICES
from orchestrator.resilience.clock import clock_of
from orchestrator.resilience.deadline import Deadline
from orchestrator.resilience.policy import ServicePolicy
from orchestrator.schemas.downstream import PRICES, Prices
from orchestrator.schemas.requests import MarketParams
from orchestrator.settings import Settings
from orchestrator.web.app import create_app
from tests.orchestrator.conftest import make_settings
from tests.virtual import PLAIN

MARKET = MarketParams(**fakes.backtest_request()["market_params"])


class Transport:
    """Answers every request with ``body`` (200); counts what was sent."""

    def __init__(self, body: dict[str, Any]) -> None:
        self.body, self.sent = orjson.dumps(body), list[Request]()

    def send(self, request: Request) -> Observable[Answer]:
        self.sent.append(request)
        return reactivex.just(Answer(200, self.body))


def service(name: str, transport: Transport, scheduler: TestScheduler) -> ServiceClient:
    """``name``'s client, allowed three attempts: a refused answer must not use them."""
    settings = Settings(_env_file=None, **{**PLAIN, "retry": {"max_attempts": 3}})
    policy = ServicePolicy.for_service(name, settings.policy(name), clock_of(scheduler))
    return ServiceClient(name, f"http://{name}.test", transport, scheduler, policy)


def run(call: Any) -> Any:
    """The value ``call(scheduler, context)`` emits, or the error it ends with."""
    scheduler = TestScheduler()
    context = CallContext("rid-1", Deadline(1000, clock_of(scheduler)))
    first = scheduler.start(lambda: call(scheduler, context)).messages[0].value
    return first.exception if first.kind == "E" else first.value


def prices_answer(body: dict[str, Any], market: MarketParams = MARKET) -> tuple[Any, Transport]:
    transport = Transport(body)
    client = lambda scheduler: MarketDataClient(service("market_data", transport, scheduler))  # noqa: E731
    return run(lambda scheduler, context: client(scheduler).prices(market, context)), transport


def with_data(answer: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return {**answer, "data": {**answer["data"], **changes}}


def refused(outcome: Any, transport: Transport, service: str, path: str, problem: str) -> None:
    """``outcome`` is the refusal: ours in every word, naming the service, tried once."""
    assert isinstance(outcome, ApiError)
    assert (outcome.code, outcome.status, outcome.retryable) == ("EXTERNAL_API_ERROR", 502, False)
    assert outcome.message == f"The {service} service answered {path} with what was not asked"
    assert outcome.details == {"service": service, "status": 200, "problems": [problem]}
    assert len(transport.sent) == 1


def early_bar() -> dict[str, Any]:
    answer = fakes.prices()
    answer["data"]["prices"].insert(0, {**answer["data"]["prices"][0], "date": "2019-12-31"})
    return answer


# --- market data -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "problem"),
    [
        (fakes.prices(ticker="POISON"), "ticker: not the ticker asked"),
        (with_data(fakes.prices(), frequency="weekly"), "frequency: not the frequency asked"),
        (early_bar(), "prices: a bar outside the dates asked"),
        (fakes.prices(days=["2020-01-02", "2020-01-09"]), "prices: a bar outside the dates asked"),
    ],
    ids=["another-ticker", "another-frequency", "a-bar-before-the-range", "a-bar-after-the-range"],
)
def test_prices_for_another_question_are_refused(answer, problem):
    outcome, transport = prices_answer(answer)
    refused(outcome, transport, "market_data", "/prices", problem)
    assert "POISON" not in repr(outcome.details)


@pytest.mark.parametrize(
    "answer",
    [
        fakes.prices(ticker="tqqq"),
        with_data(fakes.prices(), frequency="Daily"),
        {**fakes.prices(), "data": {"prices": fakes.prices()["data"]["prices"]}},
        with_data(
            fakes.prices(),
            prices=[{**bar, "date": bar["date"] + "T00:00:00"} for bar in fakes.prices()["data"]["prices"]],
        ),
    ],
    ids=[
        "the-ticker-in-another-case",
        "the-frequency-in-another-case",
        "saying-neither",
        "dates-with-a-time",
    ],
)
def test_prices_that_answer_the_question_pass(answer):
    outcome, _ = prices_answer(answer)
    assert isinstance(outcome, Prices) and outcome.count == len(fakes.DATES)


@pytest.mark.parametrize(
    ("frequency", "days", "passes"),
    [
        ("weekly", ["2019-12-30", "2020-01-06"], True),  # dated by the week's Monday, before the start
        ("weekly", ["2020-01-03", "2020-01-10"], True),  # by its Friday, after the end
        ("weekly", ["2019-12-23", "2020-01-06"], False),  # a week wholly before the range
        ("monthly", ["2020-01-01"], True),  # dated by the month's first day, before the start
        ("monthly", ["2020-01-31"], True),  # by its last, after the end
        ("monthly", ["2019-12-31"], False),  # December, wholly before the range
    ],
)
def test_a_weekly_or_monthly_bar_is_in_range_when_its_period_is(frequency, days, passes):
    market = MARKET.model_copy(
        update={"start_date": "2020-01-02", "end_date": "2020-01-07", "frequency": frequency}
    )
    answer = with_data(fakes.prices(days=days), frequency=frequency)
    outcome, _ = prices_answer(answer, market)
    assert isinstance(outcome, Prices) is passes


def test_a_range_is_checked_at_its_edges_inclusive():
    market = MARKET.model_copy(update={"start_date": "2020-01-02", "end_date": "2020-01-07"})
    outcome, _ = prices_answer(fakes.prices(), market)
    assert isinstance(outcome, Prices)


@pytest.mark.parametrize(
    ("answer", "problem"),
    [
        (fakes.dividends(ticker="POISON"), "ticker: not the ticker asked"),
        (fakes.dividends(days=["2019-06-01"] * 3), "dividends.0.ex_date: outside the dates asked"),
    ],
    ids=["another-ticker", "an-ex-date-outside-the-range"],
)
def test_dividends_for_another_question_are_refused(answer, problem):
    transport = Transport(answer)
    client = lambda scheduler: MarketDataClient(service("market_data", transport, scheduler))  # noqa: E731
    outcome = run(lambda scheduler, context: client(scheduler).dividends(MARKET, context))
    refused(outcome, transport, "market_data", "/dividends", problem)


# --- strategy --------------------------------------------------------------------------------------

PRICES_SENT = PRICES.read(orjson.dumps(fakes.prices()), 200)


def signals_answer(body: dict[str, Any], strategy_type: str = "buy_the_dip") -> tuple[Any, Transport]:
    transport = Transport(body)
    client = lambda scheduler: StrategyClient(service("strategy", transport, scheduler))  # noqa: E731
    return run(
        lambda scheduler, context: client(scheduler).signals(strategy_type, {}, PRICES_SENT, context)
    ), transport


@pytest.mark.parametrize(
    ("answer", "problem"),
    [
        (fakes.signals("buy_and_hold"), "strategy_type: not the strategy asked"),
        (fakes.signals(days=["2020-01-02", "2020-01-04"]), "signals.0.date: not a date of the prices sent"),
        (fakes.signals(days=["2020-01-02", "2021-01-03"]), "signals.0.date: not a date of the prices sent"),
    ],
    ids=["another-strategy", "a-day-with-no-price", "a-day-after-the-prices"],
)
def test_signals_for_another_question_are_refused(answer, problem):
    outcome, transport = signals_answer(answer)
    refused(outcome, transport, "strategy", "/signals", problem)


@pytest.mark.parametrize(
    "answer",
    [
        with_data(fakes.signals(), strategy_type=" Buy_The_Dip "),
        {**fakes.signals(), "data": {"signals": fakes.signals()["data"]["signals"]}},
        with_data(fakes.signals(), signals=[]),
    ],
    ids=["the-name-normalised", "saying-no-strategy", "no-signals"],
)
def test_signals_that_answer_the_question_pass(answer):
    outcome, _ = signals_answer(answer)
    assert not isinstance(outcome, Exception)


# --- never cached ----------------------------------------------------------------------------------


async def test_an_answer_for_another_ticker_is_a_502_and_is_not_kept(aiohttp_server, orchestrator_client):
    """With the cache on: the refused answer is not kept, so the next backtest asks again."""
    calls: Counter[str] = Counter()

    @web.middleware
    async def another_ticker_once(request: web.Request, handler: Any) -> web.StreamResponse:
        calls[request.path] += 1
        if request.path == "/prices" and calls["/prices"] == 1:
            return web.json_response(fakes.prices(ticker="POISON"))
        return await handler(request)

    services = await aiohttp_server(fake_services(middlewares=(another_ticker_once,)))
    urls = {entry.url_setting: str(services.make_url("")).rstrip("/") for entry in SERVICES}
    client = await orchestrator_client(create_app(make_settings(**urls, cache={"enabled": True})))

    first = await client.post("/api/backtest", json=fakes.backtest_request())
    error = (await first.json())["error"]
    assert (first.status, error["code"], error["details"]["service"]) == (
        502,
        "EXTERNAL_API_ERROR",
        "market_data",
    )
    second = await client.post("/api/backtest", json=fakes.backtest_request(include=["market_data"]))
    assert second.status == 200
    assert calls["/prices"] == 2  # the refused answer was not kept: asked again
    assert {bar["close"] for bar in (await second.json())["data"]["market_data"]["prices"]} == set(
        fakes.CLOSES
    )
