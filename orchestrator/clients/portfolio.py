"""The portfolio service: simulates a strategy's signals over prices and dividends."""

from __future__ import annotations

from reactivex import Observable

from orchestrator.clients.context import CallContext
from orchestrator.clients.service import ServiceClient
from orchestrator.schemas.downstream import SIMULATION, Dividends, Prices, Signals, Simulation
from orchestrator.schemas.requests import PortfolioParams


class PortfolioClient:
    def __init__(self, service: ServiceClient) -> None:
        self.service = service

    def simulate(
        self,
        params: PortfolioParams,
        signals: Signals,
        prices: Prices,
        dividends: Dividends,
        context: CallContext,
    ) -> Observable[Simulation]:
        # The request's portfolio parameters are, field for field, what the service takes.
        body = {
            **params.model_dump(),
            "signals": signals.fragment,
            "price_data": prices.points,
            "dividend_data": dividends.dividend_data,
        }
        return self.service.post("/simulate", body, SIMULATION, context)
