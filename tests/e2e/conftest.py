"""The real platform (reference services and orchestrator as processes) on free loopback ports, and
the headless Chromium the page's tests drive (test_page.py, test_page_research.py)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import sync_playwright

from orchestrator.cli.platform import LocalPlatform
from tests.background import BackgroundServers

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@pytest.fixture(scope="session")
def platform() -> Iterator[LocalPlatform]:
    running = LocalPlatform.on_free_ports(env={"LOG_LEVEL": "WARNING", "SSE_HEARTBEAT_S": "1"})
    running.start()
    yield running
    running.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not os.access(CHROMIUM, os.X_OK):
        if os.environ.get("REQUIRE_BROWSER"):  # CI installs Chromium: a skip there would hide a failure
            pytest.fail("REQUIRE_BROWSER is set but there is no Chromium at /usr/bin/chromium")
        pytest.skip("no Chromium at /usr/bin/chromium: apt-get install chromium")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1100, "height": 900})
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda error: errors.append(str(error)))
    yield tab
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


@pytest.fixture(scope="module")
def servers() -> Iterator[BackgroundServers]:
    with BackgroundServers() as running:
        yield running
