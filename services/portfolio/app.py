"""The portfolio service: ``POST /simulate`` plays a strategy's signals over prices and dividends.

See :mod:`services.portfolio.simulation` for the rules (order of the day, partial buys, costs, rounding).
"""

from __future__ import annotations

from typing import Any

from starlette.applications import Starlette
from starlette.routing import Route

from services.common import create_service_app, insufficient_data, json_endpoint
from services.portfolio.schemas import SimulateRequest
from services.portfolio.simulation import simulate


def create_app() -> Starlette:
    return create_service_app(
        "portfolio", [Route("/simulate", json_endpoint(SimulateRequest, simulation), methods=["POST"])]
    )


def simulation(body: SimulateRequest) -> dict[str, Any]:
    if not body.price_data:
        raise insufficient_data("price_data is empty: there is nothing to simulate over")
    return simulate(body)
