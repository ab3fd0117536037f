"""A readable sentence for why a trade happened, from its signal's ``trigger_details``.

The strategy service's details are free-form; we read the keys its strategies use (a percentage
move and threshold, as percent or as a fraction, or a ``reason``) and fall back to plain words.
"""

from __future__ import annotations

from typing import Any, TypeGuard

_SINCE = {"daily": "previous day", "weekly": "previous week", "monthly": "previous month"}


def trigger_sentence(details: dict[str, Any] | None, action: str) -> str:
    details = details or {}
    move = _percent(details, "price_change_pct", "price_change")
    if move is not None:
        since = _SINCE.get(str(details.get("lookback_period", "daily")), "previous day")
        sentence = f"Price {'dropped' if move < 0 else 'rose'} {_number(move)}% from {since}"
        threshold = _percent(details, "threshold_pct", "threshold")
        return sentence + (f" (threshold {_number(threshold)}%)" if threshold is not None else "")
    reason = details.get("reason")
    if isinstance(reason, str) and reason.strip():
        return reason.strip()
    return "Dividend reinvested" if "DIV" in action.upper() else f"{action.capitalize()} signal"


def _percent(details: dict[str, Any], percent_key: str, fraction_key: str) -> float | None:
    value = details.get(percent_key)
    if _is_number(value):
        return float(value)
    value = details.get(fraction_key)
    return float(value) * 100 if _is_number(value) else None


def _is_number(value: Any) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _number(value: float) -> str:
    return f"{round(value, 2):g}"
