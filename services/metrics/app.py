"""The metrics service: ``POST /calculate`` scores each portfolio and compares active with baseline.

Any set of portfolio names is scored; ``comparison`` is added only when both ``active`` and
``baseline`` are present. An empty series is INSUFFICIENT_DATA. Formulas: :mod:`services.metrics.formulas`.
"""

from __future__ import annotations

from typing import Any

from starlette.applications import Starlette
from starlette.routing import Route

from services.common import create_service_app, insufficient_data, invalid_request, json_endpoint
from services.metrics.schemas import CalculateRequest
from services.metrics.scores import compare, score


def create_app() -> Starlette:
    return create_service_app(
        "metrics", [Route("/calculate", json_endpoint(CalculateRequest, calculate), methods=["POST"])]
    )


def calculate(body: CalculateRequest) -> dict[str, Any]:
    if "comparison" in body.portfolios:
        message = "'comparison' is the name of the comparison block; give the portfolio another name"
        raise invalid_request(message, [{"field": "portfolios.comparison", "message": "reserved name"}])
    scores = {}
    for name, portfolio in body.portfolios.items():
        series = portfolio.time_series
        if not series.dates:
            raise insufficient_data(f"The {name} portfolio has no values to score", portfolio=name)
        scores[name] = score(series.dates, series.portfolio_value, body.risk_free_rate_annual)
    answer: dict[str, Any] = {name: item.as_json() for name, item in scores.items()}
    if "active" in scores and "baseline" in scores:
        answer["comparison"] = compare(scores["active"], scores["baseline"])
    return answer
