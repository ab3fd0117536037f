"""The orchestrator app in-process, served as production serves it (``tests/serving.py``), its
services a table handed to ``create_app`` (``tests/services_table.py``) or fakes on loopback."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from orchestrator.registry import SERVICES
from orchestrator.settings import Settings
from orchestrator.web.app import create_app
from tests.services_table import ServiceTable, as_the_fakes_do, failing, json_answer, raw_answer

#: Each service's base URL in these tests, by registry name: ``http://market-data.test`` and so on.
URLS = {entry.name: f"http://{entry.default_host}.test" for entry in SERVICES}
MARKET, STRATEGY, PORTFOLIO, METRICS, TEST_DATA = (
    URLS[name] for name in ("market_data", "strategy", "portfolio", "metrics", "test_data")
)


def make_settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {
        **{entry.url_setting: URLS[entry.name] for entry in SERVICES},
        "timeout": {"attempt_s": 2},
        "backtest_deadline_s": 5,
        "risk_free_rate_annual": 0.02,
    }
    return Settings(**{**values, **overrides})


@pytest.fixture
def services() -> ServiceTable:
    """The services, answering nothing until told (a call fails as a refused connection)."""
    return ServiceTable()


@pytest.fixture
def happy(services: ServiceTable) -> ServiceTable:
    """Every service answers as docs/contract.md says."""
    answer_every_call(services)
    return services


def answer_every_call(services: ServiceTable, market: str = MARKET) -> None:
    """Answer each call of a backtest as the fakes do; the market-data calls at ``market``."""
    for base, path in (
        (market, "/prices"),
        (market, "/dividends"),
        (STRATEGY, "/signals"),
        (PORTFOLIO, "/simulate"),
        (METRICS, "/calculate"),
    ):
        services.answer(base + path, as_the_fakes_do(path))


def answer_instead(
    services: ServiceTable,
    url: str,
    *,
    status: int = 200,
    payload: Any = None,
    body: bytes | str | None = None,
    exception: BaseException | None = None,
    reply: Any = None,
) -> None:
    """Make ``url`` answer otherwise than the happy fixture does, from now on: ``payload`` as JSON,
    ``body`` as it is, ``exception`` raised, or ``reply`` (a function of the request)."""
    if reply is None:
        if exception is not None:
            reply = failing(exception)
        elif body is not None:
            reply = raw_answer(body, status)
        else:
            reply = json_answer(payload, status)
    services.answer(url, reply)


@pytest.fixture
def client_for(orchestrator_client: Callable[..., Any], services: ServiceTable):
    """``await client_for(**settings)``: a client of the app, its services the ``services`` table."""

    async def make(**overrides: Any):
        return await orchestrator_client(create_app(make_settings(**overrides), transport=services))

    return make


@pytest.fixture
async def client(client_for):
    return await client_for()


def sent_bodies(services: ServiceTable, url: str) -> list[dict[str, Any]]:
    """The JSON bodies we POSTed to ``url``."""
    return services.bodies(url)


@pytest.fixture
def start(aiohttp_server, orchestrator_client):
    """Fake services on a loopback server with ``delays``, and the orchestrator pointed at them.

    Returns ``(client, call_log)``; settings may be overridden by keyword.
    """
    from fakes.services import CallLog, fake_services

    async def _start(delays: dict[str, float] | None = None, **settings: Any):
        log = CallLog()
        services = await aiohttp_server(fake_services(delays, log))
        url = str(services.make_url("")).rstrip("/")
        urls = {entry.url_setting: url for entry in SERVICES}
        client = await orchestrator_client(create_app(make_settings(**urls, **settings)))
        return client, log

    return _start
