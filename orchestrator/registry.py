"""The service registry: each service behind the orchestrator, named once.

Everything that needs to know the downstream services reads this table: the settings (each
service's URL variable, and its policy's name and defaults), the app factory (one client per
entry, each under its own policy), ``GET /api/health`` (the entries it checks), ``orchestrator dev``
and ``python -m services`` (which process listens on which port), the benchmarks and the test
fixtures.

This module imports nothing else of the orchestrator, so the reference services can read it without
pulling in the gateway.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class ServiceEntry:
    """One downstream service, as the orchestrator knows it."""

    #: The name in settings, errors (``details.service``), logs and ``/api/health``.
    name: str
    #: The host of the default URL: the platform's docker-compose service name.
    default_host: str
    default_port: int
    health_path: str = "/health"
    #: Whether ``GET /api/health`` checks it (the test-data service is optional).
    health_checked: bool = True
    #: Its policy's own defaults where they differ from every service's, by group and field as in
    #: ``resilience/policy.py``'s ``PolicyConfig`` (``{"timeout": {"attempt_s": 15.0}}``). The
    #: environment's defaults for every service (``TIMEOUT__ATTEMPT_S``) and for this one
    #: (``SERVICES__PORTFOLIO__TIMEOUT__ATTEMPT_S``) go over them (``orchestrator/settings.py``).
    policy: Mapping[str, Mapping[str, float | int | bool]] = field(
        default_factory=dict, hash=False, compare=False
    )

    @property
    def url_setting(self) -> str:
        """The settings field (and, upper-cased, the environment variable) of its base URL."""
        return f"{self.name}_url"

    @property
    def url_variable(self) -> str:
        """The environment variable of its base URL, e.g. ``MARKET_DATA_URL``."""
        return self.url_setting.upper()

    @property
    def policy_prefix(self) -> str:
        """What the environment variables of its own policy start with, e.g. ``SERVICES__METRICS__``."""
        return f"SERVICES__{self.name.upper()}__"

    @property
    def default_url(self) -> str:
        return f"http://{self.default_host}:{self.default_port}"


MARKET_DATA = ServiceEntry("market_data", "market-data", 8012)
STRATEGY = ServiceEntry("strategy", "strategy", 8013)
PORTFOLIO = ServiceEntry("portfolio", "portfolio", 8014, policy={"timeout": {"attempt_s": 15.0}})
METRICS = ServiceEntry("metrics", "metrics", 8015)
# The market-data API over a fixed fixture, for requests with ``use_test_data``.
TEST_DATA = ServiceEntry("test_data", "test-data-fetcher", 8016, health_checked=False)

#: Every downstream service, in the order the platform starts them.
SERVICES: tuple[ServiceEntry, ...] = (MARKET_DATA, STRATEGY, PORTFOLIO, METRICS, TEST_DATA)
BY_NAME: dict[str, ServiceEntry] = {entry.name: entry for entry in SERVICES}

#: The orchestrator's own default port, before the services' ports.
ORCHESTRATOR_PORT = 8011
