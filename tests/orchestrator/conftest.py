"""The orchestrator app in-process, its services answered by aioresponses (or fakes on loopback)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from aioresponses import CallbackResult, aioresponses
from yarl import URL

from orchestrator.registry import SERVICES
from orchestrator.settings import Settings
from orchestrator.web.app import create_app
from tests import fakes

#: Each service's base URL in these tests, by registry name: ``http://market-data.test`` and so on.
URLS = {entry.name: f"http://{entry.default_host}.test" for entry in SERVICES}
MARKET, STRATEGY, PORTFOLIO, METRICS, TEST_DATA = (
    URLS[name] for name in ("market_data", "strategy", "portfolio", "metrics", "test_data")
)


def make_settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {
        **{entry.url_setting: URLS[entry.name] for entry in SERVICES},
        **{entry.timeout_field: 2 for entry in SERVICES},
        "backtest_deadline_s": 5,
        "risk_free_rate_annual": 0.02,
    }
    return Settings(**{**values, **overrides})


@pytest.fixture
def mocked():
    """aioresponses for the services; the test client's own requests to the app pass through."""
    with aioresponses(passthrough=["http://127.0.0.1", "http://localhost"]) as mock:
        yield mock


@pytest.fixture
def happy(mocked: aioresponses) -> aioresponses:
    """Every service answers as docs/contract.md says."""
    answer_every_call(mocked)
    return mocked


def answer_every_call(mock: aioresponses, market: str = MARKET) -> None:
    """Answer each call of a backtest as the fakes do; the market-data calls at ``market``."""
    for base, path in (
        (market, "/prices"),
        (market, "/dividends"),
        (STRATEGY, "/signals"),
        (PORTFOLIO, "/simulate"),
        (METRICS, "/calculate"),
    ):
        mock.post(base + path, callback=_answer(path), repeat=True)


def answer_instead(mock: aioresponses, url: str, **answer: Any) -> None:
    """Make ``url`` answer otherwise than the happy fixture does, from now on."""
    mock._matches.pop(next(key for key in mock._matches if str(mock._matches[key].url_or_pattern) == url))
    mock.post(url, repeat=True, **answer)


def _answer(path: str) -> Callable[..., CallbackResult]:
    def callback(_url: Any, **kwargs: Any) -> CallbackResult:
        return CallbackResult(payload=fakes.answer(path, json.loads(kwargs["data"])))

    return callback


@pytest.fixture
def client_for(aiohttp_client: Callable[..., Any]):
    async def make(**overrides: Any):
        return await aiohttp_client(create_app(make_settings(**overrides)))

    return make


@pytest.fixture
async def client(client_for):
    return await client_for()


def sent_bodies(mock: aioresponses, url: str) -> list[dict[str, Any]]:
    """The JSON bodies we POSTed to ``url``."""
    return [json.loads(call.kwargs["data"]) for call in mock.requests.get(("POST", URL(url)), [])]


@pytest.fixture
def start(aiohttp_server, aiohttp_client):
    """Fake services on a loopback server with ``delays``, and the orchestrator pointed at them.

    Returns ``(client, call_log)``; settings may be overridden by keyword.
    """
    from tests.loopback import CallLog, fake_services

    async def _start(delays: dict[str, float] | None = None, **settings: Any):
        log = CallLog()
        services = await aiohttp_server(fake_services(delays, log))
        url = str(services.make_url("")).rstrip("/")
        urls = {entry.url_setting: url for entry in SERVICES}
        client = await aiohttp_client(create_app(make_settings(**urls, **settings)))
        return client, log

    return _start
