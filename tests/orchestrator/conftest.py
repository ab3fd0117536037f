"""The orchestrator app in-process, its services answered by aioresponses."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from aioresponses import aioresponses

from orchestrator.app import create_app
from orchestrator.settings import Settings
from tests import fakes

MARKET, STRATEGY, PORTFOLIO, METRICS, TEST_DATA = (
    "http://market-data.test",
    "http://strategy.test",
    "http://portfolio.test",
    "http://metrics.test",
    "http://test-data.test",
)


def make_settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "market_data_url": MARKET,
        "strategy_url": STRATEGY,
        "portfolio_url": PORTFOLIO,
        "metrics_url": METRICS,
        "test_data_url": TEST_DATA,
        "market_data_timeout_s": 2,
        "strategy_timeout_s": 2,
        "portfolio_timeout_s": 2,
        "metrics_timeout_s": 2,
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
    """Every service answers as CONTRACTS.md says."""
    mocked.post(f"{MARKET}/prices", payload=fakes.prices())
    mocked.post(f"{MARKET}/dividends", payload=fakes.dividends())
    mocked.post(f"{STRATEGY}/signals", callback=_by_strategy, repeat=True)
    mocked.post(f"{PORTFOLIO}/simulate", callback=_by_capital, repeat=True)
    mocked.post(f"{METRICS}/calculate", payload=fakes.metrics())
    return mocked


def _by_strategy(url: Any, **kwargs: Any):
    from aioresponses import CallbackResult

    body = json.loads(kwargs["data"])
    return CallbackResult(payload=fakes.signals(body["strategy_type"]))


def _by_capital(url: Any, **kwargs: Any):
    from aioresponses import CallbackResult

    body = json.loads(kwargs["data"])
    kind = "baseline" if body["investment_per_trade"] == body["initial_capital"] else "active"
    return CallbackResult(payload=fakes.simulation(kind))


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
    from yarl import URL

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
        urls = {
            f"{name}_url": url for name in ("market_data", "strategy", "portfolio", "metrics", "test_data")
        }
        client = await aiohttp_client(create_app(make_settings(**urls, **settings)))
        return client, log

    return _start
