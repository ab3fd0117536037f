"""What one backtest may call: a client per registry entry, each under its own policy, on one scheduler."""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from reactivex.abc import SchedulerBase

from orchestrator import registry
from orchestrator.clients.market_data import MarketDataClient
from orchestrator.clients.metrics import MetricsClient
from orchestrator.clients.portfolio import PortfolioClient
from orchestrator.clients.service import ServiceClient
from orchestrator.clients.strategy import StrategyClient
from orchestrator.clients.transport import Transport
from orchestrator.resilience.clock import clock_of
from orchestrator.resilience.policy import PolicyConfig, ServicePolicy

ClientKind = type[MarketDataClient] | type[StrategyClient] | type[PortfolioClient] | type[MetricsClient]

#: The typed client of each service; the test-data service speaks the market-data API.
CLIENT_KINDS: dict[registry.ServiceEntry, ClientKind] = {
    registry.MARKET_DATA: MarketDataClient,
    registry.STRATEGY: StrategyClient,
    registry.PORTFOLIO: PortfolioClient,
    registry.METRICS: MetricsClient,
    registry.TEST_DATA: MarketDataClient,
}


class ServiceSettings(Protocol):
    """What the clients are made from, by service name: ``orchestrator.settings.Settings`` (read
    through this, so that the clients import nothing of the settings, which import far more)."""

    def url(self, service: str) -> str: ...

    def policy(self, service: str) -> PolicyConfig: ...


@dataclass(frozen=True, slots=True)
class Downstream:
    """The clients of the services behind us (fields named as in the registry), and the scheduler
    their timeouts run on."""

    market_data: MarketDataClient
    strategy: StrategyClient
    portfolio: PortfolioClient
    metrics: MetricsClient
    test_data: MarketDataClient
    scheduler: SchedulerBase

    def service(self, name: str) -> ServiceClient:
        """The untyped client of the service ``name``, e.g. for its health check."""
        client: MarketDataClient | StrategyClient | PortfolioClient | MetricsClient = getattr(self, name)
        return client.service

    def services(self) -> list[ServiceClient]:
        """Every service's client, in registry order."""
        return [self.service(entry.name) for entry in registry.SERVICES]


def connect(
    settings: ServiceSettings,
    transport: Transport | Mapping[str, Transport],
    scheduler: SchedulerBase,
    rng: random.Random | None = None,
) -> Downstream:
    """A client for every registry entry, at its configured URL, under its own policy (retries,
    budget, hedging, breaker, bulkhead); over one transport, or one per service by name. ``rng``
    draws the retries' jitter (tests pass one that is not random)."""
    clock = clock_of(scheduler)

    def client(entry: registry.ServiceEntry) -> ServiceClient:
        name = entry.name
        own = transport[name] if isinstance(transport, Mapping) else transport
        policy = ServicePolicy.for_service(name, settings.policy(name), clock, rng=rng)
        return ServiceClient(name, settings.url(name), own, scheduler, policy)

    clients = {entry.name: CLIENT_KINDS[entry](client(entry)) for entry in registry.SERVICES}
    # One client per registry entry, by the field's name: mypy cannot match names made at run time
    # to Downstream's fields, each of its own client type.
    return Downstream(scheduler=scheduler, **clients)  # type: ignore[arg-type]
