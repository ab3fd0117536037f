"""The metrics service: scores the active and baseline portfolios and compares them."""

from __future__ import annotations

from reactivex import Observable

from orchestrator.clients.context import CallContext
from orchestrator.clients.service import ServiceClient
from orchestrator.schemas.downstream import Metrics, Simulation


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
            "portfolios": {"active": _portfolio(active), "baseline": _portfolio(baseline)},
        }
        return self.service.post("/calculate", body, Metrics, context)


def _portfolio(simulation: Simulation) -> dict[str, object]:
    series, final = simulation.time_series, simulation.final_state
    return {
        "time_series": {"dates": series.dates, "portfolio_value": series.portfolio_value},
        "final_state": {"portfolio_value": final.portfolio_value, "total_invested": final.total_invested},
    }
