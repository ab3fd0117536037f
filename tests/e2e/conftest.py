"""The real platform (reference services and orchestrator as processes) on free loopback ports."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from orchestrator.cli.platform import LocalPlatform


@pytest.fixture(scope="session")
def platform() -> Iterator[LocalPlatform]:
    running = LocalPlatform.on_free_ports(env={"LOG_LEVEL": "WARNING", "SSE_HEARTBEAT_S": "1"})
    running.start()
    yield running
    running.stop()
