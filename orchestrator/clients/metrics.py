"""The metrics service: scores the active and baseline portfolios and compares them."""

from __future__ import annotations

from reactivex import Observable

from orchestrator.clients.context import CallContext
from orchestrator.clients.service import ServiceClient
from orchestrator.schemas.downstream import METRICS, Metrics, Simulation


class MetricsClient:
    def __init__(self, service: ServiceClient) -> None:
        self.service = service

    def calculate(
        self,
        active: Simulation,
        baseline: Simulation,
        start_date: str,
        end_date: str,
        risk_free_rate_annual: float,
        context: CallContext,
    ) -> Observable[Metrics]:
        body = {
            "risk_free_rate_annual": risk_free_rate_annual,
            "start_date": start_date,
            "end_date": end_date,
            "portfolios": {"active": active.for_metrics, "baseline": baseline.for_metrics},
        }
        return self.service.post("/calculate", body, METRICS, context)
