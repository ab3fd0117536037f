"""The page at ``/`` in headless Chromium against an orchestrator that asks for an API key
(``AUTH__MODE=api_key``): the page asks for the key on the 401, runs the backtest with it, and keeps
it for the tab only (``static/credential.js``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from fakes.services import fake_services
from orchestrator.auth import api_keys
from orchestrator.settings import Settings
from orchestrator.web.app import create_app
from tests.background import BackgroundServers
from tests.e2e.test_page import RESULT_TIMEOUT_MS, fill_form

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def guarded(servers: BackgroundServers, tmp_path_factory: Any) -> tuple[str, str]:
    """The orchestrator app with API keys on, its services faked on loopback; its URL and a key."""
    key, record = api_keys.new_key("desk")
    path = Path(tmp_path_factory.mktemp("keys")) / "keys.json"
    api_keys.write_file(path, {record.id: record})
    services = servers.serve(fake_services())
    urls = {
        f"{name}_url": services for name in ("market_data", "strategy", "portfolio", "metrics", "test_data")
    }
    auth = {"mode": "api_key", "api_keys_file": str(path)}
    return servers.serve_orchestrator(create_app(Settings(**urls, auth=auth))), key


def test_the_page_asks_for_a_key_on_a_401_and_keeps_it_for_the_tab(guarded, page):
    url, key = guarded
    asked: list[str] = []

    def answer(dialog: Any) -> None:
        asked.append(dialog.message)
        dialog.accept(key)

    page.on("dialog", answer)
    page.goto(url + "/")
    fill_form(page)
    page.get_by_role("button", name="Run").click()
    page.get_by_test_id("equity-chart").wait_for(timeout=RESULT_TIMEOUT_MS)
    assert len(asked) == 1 and "API key" in asked[0]
    assert page.evaluate("sessionStorage.getItem('orchestrator.apiKey')") == key
    assert page.evaluate("localStorage.length") == 0

    with page.expect_response("**/api/backtest") as second:  # the kept key: not asked again
        page.get_by_role("button", name="Run").click()
    assert (second.value.status, second.value.request.headers["x-api-key"]) == (200, key)
    assert len(asked) == 1


def test_a_refused_prompt_shows_unauthorized(guarded, page):
    url, _ = guarded
    page.on("dialog", lambda dialog: dialog.dismiss())
    page.goto(url + "/")
    fill_form(page)
    page.get_by_role("button", name="Run").click()
    page.get_by_test_id("error-box").wait_for(timeout=RESULT_TIMEOUT_MS)
    assert page.get_by_test_id("error-code").inner_text() == "UNAUTHORIZED"
