"""``/api/docs`` in headless Chromium: the vendored Swagger UI renders our document, from our files alone.

The page tests of ``tests/orchestrator/web/test_openapi.py`` read the HTML and the files; this one
runs them, as a reader's browser does, so that a vendored release that fails to render OpenAPI 3.1
(or to load at all) is seen.
"""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from orchestrator.settings import Settings
from orchestrator.web.app import create_app
from tests.background import BackgroundServers

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def orchestrator_url(servers: BackgroundServers) -> str:
    """The orchestrator app, its services nowhere: the docs need none of them."""
    services = ("market_data", "strategy", "portfolio", "metrics", "test_data")
    urls = {f"{name}_url": "http://127.0.0.1:9" for name in services}
    return servers.serve(create_app(Settings(**urls)))


def test_the_docs_page_renders_every_operation_from_local_files(page: Any, orchestrator_url: str):
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(f"{orchestrator_url}/api/docs")
    expect(page.locator(".info .title")).to_contain_text("Backtest orchestrator", timeout=15_000)
    expect(page.locator(".opblock-summary-path[data-path='/api/backtest']")).to_have_count(1)
    assert page.locator(".opblock").count() > 10  # every route, not only the first
    expect(page.locator(".version-stamp")).to_contain_text("OAS 3.1")
    assert requested and all(url.startswith(orchestrator_url) for url in requested), requested
