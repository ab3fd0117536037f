"""The metrics, each a small function of a portfolio's daily values ``V_0..V_n`` and dates.

Returns are simple daily returns ``r_i = V_i / V_{i-1} - 1`` (i = 1..n), one per day of the series.
Standard deviations are sample ones (n - 1). The daily risk-free rate is ``rf_d = rf_annual / 252``.

- total return ``R = V_n / V_0 - 1``
- annualised return ``(1 + R) ** (365.25 / D) - 1``, ``D`` the calendar days from the first date to the
  last (undefined when D is 0)
- maximum drawdown ``min_i (V_i / max_{j<=i} V_j - 1)``: negative, 0 if the value never fell
- drawdown duration: the longest time under water, in calendar days from a peak to the first day the value
  is back at or above it, or to the last date if it never is (0 if the value never fell)
- volatility ``stdev(r) * sqrt(252)``
- Sharpe ``(mean(r) - rf_d) / stdev(r) * sqrt(252)``
- Sortino ``(mean(r) - rf_d) / DD * sqrt(252)`` with the downside deviation
  ``DD = sqrt(sum(min(0, r_i - rf_d) ** 2) / n)`` (every return counts in n, those above rf_d as 0)
- Calmar ``annualised return / |maximum drawdown|``

Undefined values are None (JSON null): volatility, Sharpe and Sortino need two returns and a non-zero
deviation, Calmar a drawdown and an annualised return.
"""

from __future__ import annotations

import itertools
import math
import statistics
from collections.abc import Sequence
from datetime import date

TRADING_DAYS = 252
DAYS_A_YEAR = 365.25
TINY = 1e-12  # a deviation this small is float noise on a flat series, not risk


def daily_returns(values: Sequence[float]) -> list[float]:
    return [after / before - 1 for before, after in itertools.pairwise(values)]


def total_return(values: Sequence[float]) -> float:
    return values[-1] / values[0] - 1


def annualized_return(total: float, days: int) -> float | None:
    if days <= 0:
        return None
    try:
        return (1 + total) ** (DAYS_A_YEAR / days) - 1
    except OverflowError:  # a huge gain over a few days has no meaningful yearly rate
        return None


def max_drawdown(values: Sequence[float]) -> float:
    peak, worst = values[0], 0.0
    for value in values:
        peak = max(peak, value)
        worst = min(worst, value / peak - 1)
    return worst


def longest_drawdown_days(dates: Sequence[date], values: Sequence[float]) -> int:
    peak, peak_day, longest, under_water = values[0], dates[0], 0, False
    for day, value in zip(dates, values, strict=True):
        if value < peak:
            under_water = True
            continue
        if under_water:  # back at or above the peak: this drawdown is over
            longest, under_water = max(longest, (day - peak_day).days), False
        peak, peak_day = value, day
    if under_water:
        longest = max(longest, (dates[-1] - peak_day).days)
    return longest


def volatility(returns: Sequence[float]) -> float | None:
    deviation = _stdev(returns)
    return None if deviation is None else deviation * math.sqrt(TRADING_DAYS)


def sharpe_ratio(returns: Sequence[float], risk_free_annual: float) -> float | None:
    deviation = _stdev(returns)
    if deviation is None:
        return None
    return (statistics.fmean(returns) - risk_free_annual / TRADING_DAYS) / deviation * math.sqrt(TRADING_DAYS)


def sortino_ratio(returns: Sequence[float], risk_free_annual: float) -> float | None:
    if len(returns) < 2:
        return None
    target = risk_free_annual / TRADING_DAYS
    downside = math.sqrt(sum(min(0.0, r - target) ** 2 for r in returns) / len(returns))
    if downside < TINY:
        return None
    return (statistics.fmean(returns) - target) / downside * math.sqrt(TRADING_DAYS)


def calmar_ratio(annualized: float | None, drawdown: float) -> float | None:
    if annualized is None or drawdown == 0:
        return None
    return annualized / abs(drawdown)


def _stdev(returns: Sequence[float]) -> float | None:
    if len(returns) < 2:
        return None
    deviation = statistics.stdev(returns)
    return deviation if deviation >= TINY else None
