"""The strategy service: trading signals for a price series."""

from __future__ import annotations

from typing import Any

from reactivex import Observable

from orchestrator.clients.context import CallContext
from orchestrator.clients.service import ServiceClient
from orchestrator.schemas.downstream import SIGNALS, Prices, Signals, signals_asked


class StrategyClient:
    def __init__(self, service: ServiceClient) -> None:
        self.service = service

    def signals(
        self, strategy_type: str, config: dict[str, Any], prices: Prices, context: CallContext
    ) -> Observable[Signals]:
        body = {"strategy_type": strategy_type, "config": config, "price_data": prices.points}
        return self.service.post("/signals", body, SIGNALS, context, signals_asked(strategy_type, prices))
