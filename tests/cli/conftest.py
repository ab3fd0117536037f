"""A fake orchestrator for the CLI: ``POST /api/backtest`` (and ``/api/sweep``, ``/api/compare``) answers a
canned script on a loopback port."""

from __future__ import annotations

import argparse
import asyncio
import io
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web
from aiohttp_sse import sse_response
from rich.console import Console

from fakes import CALLS
from fakes.services import fake_services
from orchestrator.registry import SERVICES
from orchestrator.settings import Settings
from orchestrator.web.app import create_app

FACTS = {
    "market_data.prices": {"prices": 504},
    "market_data.dividends": {"dividends": 8},
    "signals.active": {"signals": 14},
    "signals.baseline": {"signals": 1},
}

ACTIVE = {
    "total_return_pct": 45.2,
    "annualized_return_pct": 20.1,
    "final_portfolio_value": 72600,
    "total_capital_invested": 15000,
    "max_drawdown_pct": -35.2,
    "volatility_annualized_pct": 42.1,
    "sharpe_ratio": 0.85,
    "total_trades": 150,
}
BASELINE = {
    "total_return_pct": 38.5,
    "annualized_return_pct": 17.8,
    "final_portfolio_value": 13850.5,
    "total_capital_invested": 10000,
    "max_drawdown_pct": -45.1,
    "volatility_annualized_pct": 61.3,
    "sharpe_ratio": 0.62,
    "total_trades": 1,
}
RESULT: dict[str, Any] = {
    "success": True,
    "data": {
        "metadata": {
            "ticker": "TQQQ",
            "start_date": "2020-01-01",
            "end_date": "2022-01-01",
            "strategy_type": "buy_the_dip",
            "execution_time_ms": 1234,
            "request_id": "req-7f3a",
            "market_type": "ETF",
            "frequency": "daily",
            "data_points": 504,
            "use_test_data": False,
        },
        "active_strategy": {
            "summary": ACTIVE,
            "time_series": {"dates": ["2020-01-02"], "portfolio_value": [10000]},
            "trades": [{"date": "2020-01-03", "action": "BUY", "ticker": "TQQQ", "amount": 100}],
        },
        "baseline_strategy": {"summary": BASELINE, "time_series": {}},
        "comparison": {"excess_return_pct": 6.7, "excess_sharpe": 0.23, "reduced_drawdown_pct": 9.9},
    },
}

# (event name, data); the names "comment" (a heartbeat line) and "drop" (cut the connection) are not events
Step = tuple[str, str]


def progress_steps() -> list[Step]:
    """Each stage started then done, as the orchestrator's tracker reports them."""
    steps: list[Step] = []
    for done, stage in enumerate(CALLS):
        started = {"stage": stage, "state": "started", "elapsed_ms": 10.0 * done, "done": done, "total": 7}
        finished = {**started, "state": "done", "done": done + 1, "duration_ms": 120.4}
        if stage in FACTS:
            finished["facts"] = FACTS[stage]
        steps += [("progress", json.dumps(started)), ("progress", json.dumps(finished))]
    return steps


def result_step(result: dict[str, Any] = RESULT, indent: int | None = None) -> Step:
    return ("result", json.dumps(result, indent=indent))


@dataclass
class Fake:
    """What the fake orchestrator answers, and what it was sent."""

    steps: list[Step] = field(default_factory=lambda: [*progress_steps(), result_step()])
    answer: tuple[int, str] | None = None  # (status, JSON text) answered instead of a stream
    content_type: str = "application/json"  # of that answer
    stall_s: float = 0.0  # sleep before answering, to try timeouts
    bodies: list[Any] = field(default_factory=list)
    asked: list[tuple[str, str]] = field(default_factory=list)  # (path and query, Accept) of each request
    url: str = ""

    async def backtest(self, request: web.Request) -> web.StreamResponse:
        self.bodies.append(await request.json())
        self.asked.append((request.path_qs, request.headers.get("Accept", "")))
        await asyncio.sleep(self.stall_s)
        if self.answer is not None:
            status, text = self.answer
            return web.Response(status=status, text=text, content_type=self.content_type)
        async with sse_response(request, allow_all_methods=True) as response:  # it allows GET only by default
            for number, (event, data) in enumerate(self.steps, 1):
                if event == "comment":
                    await response.write(b": ping\r\n\r\n")
                elif event == "drop":  # the connection is cut mid-stream
                    assert request.transport is not None
                    request.transport.abort()
                    return response
                else:
                    await response.send(data, event=event, id=str(number))
        return response


@pytest.fixture(autouse=True)
def _plain_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Rich reads these; a CI that forces colour must not turn captured output into a terminal."""
    for name in ("FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE", "ORCHESTRATOR_URL", "NO_COLOR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("COLUMNS", "80")


@pytest.fixture
def orchestrator(aiohttp_server: Any) -> Callable[..., Awaitable[Fake]]:
    """Start a fake orchestrator on a loopback port: ``fake = await orchestrator(steps=...)``."""

    async def start(**script: Any) -> Fake:
        fake = Fake(**script)
        app = web.Application()
        for route in ("/api/backtest", "/api/sweep", "/api/compare"):
            app.router.add_post(route, fake.backtest)
        server = await aiohttp_server(app)
        fake.url = str(server.make_url("/"))
        return fake

    return start


@pytest.fixture
def platform(aiohttp_server: Any, orchestrator_server: Any) -> Callable[..., Awaitable[str]]:
    """Start the real orchestrator on a loopback port, the fake services behind it on another: its URL.

    ``url = await platform()``; settings may be overridden by keyword."""

    async def start(**settings: Any) -> str:
        services = str((await aiohttp_server(fake_services())).make_url("")).rstrip("/")
        urls = {entry.url_setting: services for entry in SERVICES}
        server = await orchestrator_server(create_app(Settings(**urls, **settings)))
        return str(server.make_url("/"))

    return start


async def run_command(
    command: Callable[[argparse.Namespace, Console, Console], Awaitable[int]], args: argparse.Namespace
) -> tuple[int, str, str]:
    """A client command on this loop, its exit status and what it printed to stdout and to stderr.

    Its own consoles, because the real orchestrator's logs go to the process's stdout."""
    out, err = io.StringIO(), io.StringIO()
    code = await command(args, Console(file=out, width=80), Console(file=err, width=80))
    return code, out.getvalue(), err.getvalue()
