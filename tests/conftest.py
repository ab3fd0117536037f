"""Fixtures shared by the test suites."""

from __future__ import annotations

import pytest

from orchestrator.logs import configure_logging


@pytest.fixture(autouse=True, scope="session")
def _quiet_logs() -> None:
    configure_logging("DEBUG", "console", cache=False)
