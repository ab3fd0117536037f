"""The service registry: each service behind the orchestrator, named once.

Everything that needs to know the downstream services reads this table: the settings (each
service's URL and timeout variables and their defaults), the app factory (one client per entry),
``GET /api/health`` (the entries it checks), ``orchestrator dev`` and ``python -m services`` (which
process listens on which port), the benchmarks and the test fixtures. Per-service policies (retries,
circuit breakers, bulkheads) belong on these entries too.

This module imports nothing else of the orchestrator, so the reference services can read it without
pulling in the gateway.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ServiceEntry:
    """One downstream service, as the orchestrator knows it."""

    #: The name in settings, errors (``details.service``), logs and ``/api/health``.
    name: str
    #: The host of the default URL: the platform's docker-compose service name.
    default_host: str
    default_port: int
    #: The default of the timeout setting; the seconds one call to this service may take.
    default_timeout_s: float
    #: The settings field of its per-call timeout; services with the same API share one.
    timeout_setting: str = ""
    health_path: str = "/health"
    #: Whether ``GET /api/health`` checks it (the test-data service is optional).
    health_checked: bool = True
    #: Whether a slow call gets a second copy by default (every call here is a pure computation,
    #: a read in effect: repeating it changes nothing); the ``{NAME}_HEDGE`` setting overrides it.
    hedged: bool = True
    #: The default cap on its calls in flight, and the size of its connection pool
    #: (``{NAME}_MAX_IN_FLIGHT``): two calls per backtest at the admission ceiling, and room for hedges.
    max_in_flight: int = 250

    @property
    def url_setting(self) -> str:
        """The settings field (and, upper-cased, the environment variable) of its base URL."""
        return f"{self.name}_url"

    @property
    def url_variable(self) -> str:
        """The environment variable of its base URL, e.g. ``MARKET_DATA_URL``."""
        return self.url_setting.upper()

    @property
    def timeout_field(self) -> str:
        return self.timeout_setting or f"{self.name}_timeout_s"

    @property
    def hedge_setting(self) -> str:
        return f"{self.name}_hedge"

    @property
    def max_in_flight_setting(self) -> str:
        return f"{self.name}_max_in_flight"

    @property
    def default_url(self) -> str:
        return f"http://{self.default_host}:{self.default_port}"


MARKET_DATA = ServiceEntry("market_data", "market-data", 8012, default_timeout_s=10.0)
STRATEGY = ServiceEntry("strategy", "strategy", 8013, default_timeout_s=10.0)
PORTFOLIO = ServiceEntry("portfolio", "portfolio", 8014, default_timeout_s=15.0)
METRICS = ServiceEntry("metrics", "metrics", 8015, default_timeout_s=10.0)
# The market-data API over a fixed fixture, for requests with ``use_test_data``.
TEST_DATA = ServiceEntry(
    "test_data",
    "test-data-fetcher",
    8016,
    default_timeout_s=10.0,
    timeout_setting=MARKET_DATA.timeout_field,
    health_checked=False,
)

#: Every downstream service, in the order the platform starts them.
SERVICES: tuple[ServiceEntry, ...] = (MARKET_DATA, STRATEGY, PORTFOLIO, METRICS, TEST_DATA)
BY_NAME: dict[str, ServiceEntry] = {entry.name: entry for entry in SERVICES}

#: The orchestrator's own default port, before the services' ports.
ORCHESTRATOR_PORT = 8011
