"""The strategies: each turns a price series into BUY signals priced at that day's adjusted close.

Percentages in ``trigger_details`` are rounded to 2 decimals. Comparisons allow 1e-12 of float noise,
so a drop of exactly the threshold (100 -> 95 for -5%) triggers a dip buy, and a return of exactly
the momentum threshold does not trigger a momentum buy.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from services.days import period_key
from services.series import PricePoint
from services.strategy.schemas import (
    BuyAndHoldConfig,
    BuyTheDipConfig,
    DollarCostAverageConfig,
    MomentumConfig,
)

Signal = dict[str, Any]
Points = Sequence[PricePoint]

EPSILON = 1e-12
#: Trading days between a day and the one it is compared with, for each lookback period.
LOOKBACK_DAYS = {"daily": 1, "weekly": 5, "monthly": 21}
DEFAULT_INTERVAL_DAYS = 21


def signal(point: PricePoint, details: dict[str, Any]) -> Signal:
    return {
        "date": point.date.isoformat(),
        "action": "BUY",
        "price": point.adjusted_close,
        "trigger_details": details,
    }


def change(point: PricePoint, reference: PricePoint) -> float:
    """The simple return from ``reference`` to ``point``: p / p_ref - 1."""
    return point.adjusted_close / reference.adjusted_close - 1


def buy_the_dip(points: Points, config: BuyTheDipConfig) -> list[Signal]:
    """BUY when the change over the lookback (1, 5 or 21 trading days) is at or below the threshold."""
    lag = LOOKBACK_DAYS[config.lookback_period]
    found = []
    for reference, point in zip(points, points[lag:], strict=False):
        move = change(point, reference)
        if move <= config.price_change_threshold + EPSILON:
            details = {
                "price_change_pct": round(move * 100, 2),
                "threshold_pct": round(config.price_change_threshold * 100, 2),
                "lookback_period": config.lookback_period,
                "reference_date": reference.date.isoformat(),
                "reference_price": reference.adjusted_close,
            }
            found.append(signal(point, details))
    return found


def buy_and_hold(points: Points, config: BuyAndHoldConfig) -> list[Signal]:
    """One BUY on the first trading day."""
    return [signal(points[0], {"reason": "Buy and hold: invest on the first trading day"})]


def dollar_cost_average(points: Points, config: DollarCostAverageConfig) -> list[Signal]:
    """BUY on the first day and every ``interval_days`` trading days after it (default 21), or on the
    first trading day of each ISO week or calendar month in the data when ``frequency`` is given."""
    if config.frequency is not None:
        reason = f"Scheduled purchase on the first trading day of each {config.frequency[:-2]}"
        keys = [period_key(point.date, config.frequency) for point in points]
        chosen = [i for i, key in enumerate(keys) if i == 0 or key != keys[i - 1]]
    else:
        interval = config.interval_days or DEFAULT_INTERVAL_DAYS
        reason = f"Scheduled purchase every {interval} trading days"
        chosen = list(range(0, len(points), interval))
    return [signal(points[i], {"reason": reason}) for i in chosen]


def momentum(points: Points, config: MomentumConfig) -> list[Signal]:
    """BUY on each day whose return over the last ``lookback_days`` trading days exceeds the threshold."""
    lag, threshold = config.lookback_days, config.momentum_threshold
    found = []
    for reference, point in zip(points, points[lag:], strict=False):
        gain = change(point, reference)
        if gain > threshold + EPSILON:
            details = {
                "return_pct": round(gain * 100, 2),
                "threshold_pct": round(threshold * 100, 2),
                "lookback_days": lag,
                "reference_date": reference.date.isoformat(),
                "reference_price": reference.adjusted_close,
                "reason": f"{lag}-day return of {gain * 100:.1f}% exceeded {threshold * 100:.1f}%",
            }
            found.append(signal(point, details))
    return found


@dataclass(frozen=True, slots=True)
class Strategy:
    config: type[BaseModel]
    run: Callable[[Points, Any], list[Signal]]


STRATEGIES: dict[str, Strategy] = {
    "buy_the_dip": Strategy(BuyTheDipConfig, buy_the_dip),
    "buy_and_hold": Strategy(BuyAndHoldConfig, buy_and_hold),
    "dollar_cost_average": Strategy(DollarCostAverageConfig, dollar_cost_average),
    "momentum": Strategy(MomentumConfig, momentum),
}
