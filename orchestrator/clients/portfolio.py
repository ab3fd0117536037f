"""The portfolio service: simulates a strategy's signals over prices and dividends."""

from __future__ import annotations

import orjson
from reactivex import Observable

from orchestrator.clients.context import CallContext
from orchestrator.clients.service import ServiceClient
from orchestrator.schemas.downstream import Dividends, Prices, Signals, Simulation
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
            "signals": [signal.model_dump() for signal in signals.signals],
            "price_data": prices.points_json(),
            "dividend_data": _dividend_data(dividends),
        }
        return self.service.post("/simulate", body, Simulation, context)


def _dividend_data(dividends: Dividends) -> orjson.Fragment:
    return orjson.Fragment(
        orjson.dumps(
            [{"ex_date": d.ex_date, "amount_per_share": d.amount_per_share} for d in dividends.dividends]
        )
    )
