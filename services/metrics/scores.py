"""A portfolio's scores and the comparison of two, as the metrics service answers them.

Computed at full precision and rounded once, in the answer: percents to 2 decimals, ratios to 4,
durations in whole days. The comparison is computed from the unrounded scores, so it may differ by
0.01 from the difference of the rounded ones.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from services.metrics import formulas as f


@dataclass(frozen=True, slots=True)
class Scores:
    """One portfolio's metrics as fractions (not percents), None where undefined."""

    total_return: float
    annualized_return: float | None
    max_drawdown: float
    max_drawdown_duration_days: int
    volatility: float | None
    sharpe: float | None
    sortino: float | None
    calmar: float | None

    def as_json(self) -> dict[str, Any]:
        return {
            "total_return_pct": _pct(self.total_return),
            "annualized_return_pct": _pct(self.annualized_return),
            "max_drawdown_pct": _pct(self.max_drawdown),
            "max_drawdown_duration_days": self.max_drawdown_duration_days,
            "volatility_annualized_pct": _pct(self.volatility),
            "sharpe_ratio": _ratio(self.sharpe),
            "sortino_ratio": _ratio(self.sortino),
            "calmar_ratio": _ratio(self.calmar),
        }


def score(dates: Sequence[date], values: Sequence[float], risk_free_annual: float) -> Scores:
    returns = f.daily_returns(values)
    total = f.total_return(values)
    annualized = f.annualized_return(total, (dates[-1] - dates[0]).days)
    drawdown = f.max_drawdown(values)
    return Scores(
        total_return=total,
        annualized_return=annualized,
        max_drawdown=drawdown,
        max_drawdown_duration_days=f.longest_drawdown_days(dates, values),
        volatility=f.volatility(returns),
        sharpe=f.sharpe_ratio(returns, risk_free_annual),
        sortino=f.sortino_ratio(returns, risk_free_annual),
        calmar=f.calmar_ratio(annualized, drawdown),
    )


def compare(active: Scores, baseline: Scores) -> dict[str, float | None]:
    """Active against baseline: positive numbers mean the active strategy did better (or fell less)."""
    return {
        "excess_return_pct": _pct(active.total_return - baseline.total_return),
        "excess_annualized_return_pct": _pct(
            _difference(active.annualized_return, baseline.annualized_return)
        ),
        "excess_sharpe": _ratio(_difference(active.sharpe, baseline.sharpe)),
        "reduced_max_drawdown_pct": _pct(abs(baseline.max_drawdown) - abs(active.max_drawdown)),
        "reduced_volatility_pct": _pct(_difference(baseline.volatility, active.volatility)),
    }


def _difference(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else a - b


def _pct(fraction: float | None) -> float | None:
    return None if fraction is None else round(fraction * 100, 2)


def _ratio(value: float | None) -> float | None:
    return None if value is None else round(value, 4)
