"""Readiness unmoved by a dead service, with real processes: the platform on free loopback ports,
then the metrics service's process stopped.

What a load balancer sees (``GET /ready``) stays 200, so every replica keeps its traffic; what the
clients get is the contract's answer for a service that is down, the 503 envelope naming it; and
the full view for people (``GET /api/health``) says degraded. Before ``/ready`` the readiness probe
was ``/api/health``, and this took every replica out of rotation at once (issue 19).
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from orchestrator.cli.platform import LocalPlatform
from tests.requests import TQQQ

#: How long the orchestrator may take to answer the dead service's 503: its retries, then its breaker.
SETTLE_S = 30


@pytest.fixture(scope="module")
def platform() -> Iterator[LocalPlatform]:
    """A platform of this module's own: the session's is shared with tests that need every service."""
    running = LocalPlatform.on_free_ports(env={"LOG_LEVEL": "WARNING"})
    running.start()
    yield running
    running.stop()


def _get(platform: LocalPlatform, path: str) -> tuple[int, Any]:
    try:
        with urllib.request.urlopen(platform.url + path, timeout=10) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def _backtest(platform: LocalPlatform) -> tuple[int, Any]:
    request = urllib.request.Request(
        platform.url + "/api/backtest",
        data=json.dumps(TQQQ).encode(),
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def _names_metrics_as_unavailable(answer: tuple[int, Any]) -> bool:
    status, body = answer
    error = body.get("error", {}) if isinstance(body, dict) else {}
    return (status, error.get("code"), error.get("details", {}).get("service")) == (
        503,
        "SERVICE_UNAVAILABLE",
        "metrics",
    )


def test_ready_stays_200_while_backtests_answer_the_dead_services_503(platform):
    assert _get(platform, "/ready")[0] == 200
    assert _backtest(platform)[0] == 200

    metrics = platform.processes["metrics"]
    metrics.terminate()
    metrics.wait(10)

    deadline = time.monotonic() + SETTLE_S
    answers = [_backtest(platform)]
    ready = [_get(platform, "/ready")]
    while not _names_metrics_as_unavailable(answers[-1]) and time.monotonic() < deadline:
        answers.append(_backtest(platform))  # each answer is its own wait: no sleep needed
        ready.append(_get(platform, "/ready"))
    assert _names_metrics_as_unavailable(answers[-1]), answers[-1]
    assert answers[-1][1]["success"] is False

    ready.append(_get(platform, "/ready"))
    assert [status for status, _ in ready] == [200] * len(ready)
    assert {body["status"] for _, body in ready} == {"ready"}

    status, health = _get(platform, "/api/health")
    assert (status, health["status"], health["services"]["metrics"]) == (503, "degraded", "unreachable")
    assert {name: state for name, state in health["services"].items() if name != "metrics"} == {
        "market_data": "healthy",
        "strategy": "healthy",
        "portfolio": "healthy",
    }
