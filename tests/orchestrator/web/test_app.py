"""``create_app``'s seam: a transport given carries every exchange with the services, and the
application then opens no HTTP session of its own."""

from __future__ import annotations

import fakes
from orchestrator.registry import SERVICES
from orchestrator.web.keys import HTTP_SESSIONS
from tests.orchestrator.conftest import URLS
from tests.services_table import json_answer


async def test_a_transport_given_carries_every_call_and_health_check_and_no_session_is_opened(client, happy):
    for entry in SERVICES:
        happy.answer(URLS[entry.name] + entry.health_path, json_answer({"status": "healthy"}), method="GET")
    assert (await client.post("/api/backtest", json=fakes.backtest_request())).status == 200
    assert (await client.get("/api/health")).status == 200
    checked = sum(entry.health_checked for entry in SERVICES)
    assert [request.method for request in happy.requests].count("POST") == 7
    assert [request.method for request in happy.requests].count("GET") == checked
    assert HTTP_SESSIONS not in client.app
