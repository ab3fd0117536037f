"""The strategy service: ``POST /signals`` turns a strategy, its config and prices into BUY signals.

Checked in this order: the body (INVALID_REQUEST), the strategy's name (STRATEGY_NOT_FOUND, 404,
with ``details.available``), its config (INVALID_REQUEST, fields under ``config.``), then that there
are prices at all (INSUFFICIENT_DATA). Names are matched without regard to case or surrounding spaces.
"""

from __future__ import annotations

from typing import Any

from starlette.applications import Starlette
from starlette.routing import Route

from services.common import ServiceError, create_service_app, insufficient_data, json_endpoint, validate
from services.strategy.schemas import SignalsRequest
from services.strategy.strategies import STRATEGIES, Strategy


def create_app() -> Starlette:
    return create_service_app(
        "strategy", [Route("/signals", json_endpoint(SignalsRequest, signals), methods=["POST"])]
    )


def signals(body: SignalsRequest) -> dict[str, Any]:
    name = body.strategy_type.strip().lower()
    strategy = _strategy(name, body.strategy_type)
    config = validate(strategy.config, body.config, prefix=("config",), subject=f"config for {name}")
    if not body.price_data:
        raise insufficient_data("price_data is empty: there are no prices to trade on")
    found = strategy.run(body.price_data, config)
    return {"strategy_type": name, "signals": found, "total_signals": len(found)}


def _strategy(name: str, asked: str) -> Strategy:
    strategy = STRATEGIES.get(name)
    if strategy is None:
        raise ServiceError(
            "STRATEGY_NOT_FOUND",
            f"Unknown strategy {asked!r}; available: {', '.join(STRATEGIES)}",
            404,
            {"strategy_type": asked, "available": list(STRATEGIES)},
        )
    return strategy
