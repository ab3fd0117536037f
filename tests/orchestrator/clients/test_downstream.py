"""Each service's client is under its own policy: an override for one service changes no other."""

from __future__ import annotations

import fakes
from tests.orchestrator.conftest import MARKET, METRICS, answer_instead
from tests.services_table import as_the_fakes_do


async def test_a_service_given_fewer_attempts_gets_fewer_than_the_others(client_for, happy, monkeypatch):
    monkeypatch.setenv("SERVICES__METRICS__RETRY__MAX_ATTEMPTS", "1")
    retry = {"max_attempts": 3, "base_backoff_s": 0.001, "max_backoff_s": 0.001}
    client = await client_for(retry=retry, cache={"enabled": False})  # every backtest calls market data
    answer_instead(happy, f"{METRICS}/calculate", status=500, body="boom")
    assert (await client.post("/api/backtest", json=fakes.backtest_request())).status == 502
    assert len(happy.sent(f"{METRICS}/calculate")) == 1  # its own policy: one attempt

    happy.answer(f"{METRICS}/calculate", as_the_fakes_do("/calculate"))
    answer_instead(happy, f"{MARKET}/prices", status=500, body="boom")
    before = len(happy.sent(f"{MARKET}/prices"))
    assert (await client.post("/api/backtest", json=fakes.backtest_request())).status == 502
    assert len(happy.sent(f"{MARKET}/prices")) - before == 3  # every service's default: three attempts
