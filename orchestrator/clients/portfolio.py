"""The portfolio service: simulates a strategy's signals over prices and dividends."""

from __future__ import annotations

from dataclasses import dataclass

import orjson
from reactivex import Observable

from orchestrator.clients.base import ServiceClient
from orchestrator.schemas.downstream import Dividends, Prices, Signals, Simulation


@dataclass(frozen=True, slots=True)
class SimulationParams:
    initial_capital: float
    investment_per_trade: float
    reinvest_dividends: bool
    transaction_cost_pct: float = 0.0
    cash_interest_rate_pct: float = 0.0


class PortfolioClient:
    def __init__(self, service: ServiceClient) -> None:
        self.service = service

    def simulate(
        self,
        params: SimulationParams,
        signals: Signals,
        prices: Prices,
        dividends: Dividends,
        request_id: str,
    ) -> Observable[Simulation]:
        body = {
            "initial_capital": params.initial_capital,
            "investment_per_trade": params.investment_per_trade,
            "reinvest_dividends": params.reinvest_dividends,
            "transaction_cost_pct": params.transaction_cost_pct,
            "cash_interest_rate_pct": params.cash_interest_rate_pct,
            "signals": [signal.model_dump() for signal in signals.signals],
            "price_data": prices.points_json(),
            "dividend_data": _dividend_data(dividends),
        }
        return self.service.post("/simulate", body, Simulation, request_id)


def _dividend_data(dividends: Dividends) -> orjson.Fragment:
    return orjson.Fragment(
        orjson.dumps(
            [{"ex_date": d.ex_date, "amount_per_share": d.amount_per_share} for d in dividends.dividends]
        )
    )
