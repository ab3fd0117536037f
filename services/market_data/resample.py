"""Weekly and monthly bars from daily ones.

One bar per ISO week (weekly) or calendar month (monthly) among the days given (already filtered to
the asked range, so a period cut by the range makes a bar of the days inside it). The bar is dated the
period's last trading day in range; open is its first day's open, high the highest high, low the
lowest low, close and adjusted_close its last day's, volume the sum.
"""

from __future__ import annotations

from itertools import groupby

from services.days import Frequency, period_key
from services.market_data.providers.base import Bar


def resample(bars: list[Bar], frequency: Frequency) -> list[Bar]:
    """``bars`` (daily, sorted by date) at ``frequency``; daily bars are returned as they are."""
    if frequency == "daily":
        return bars
    return [
        _merge(list(period)) for _, period in groupby(bars, key=lambda bar: period_key(bar.date, frequency))
    ]


def _merge(period: list[Bar]) -> Bar:
    first, last = period[0], period[-1]
    return Bar(
        date=last.date,
        open=first.open,
        high=max(bar.high for bar in period),
        low=min(bar.low for bar in period),
        close=last.close,
        adjusted_close=last.adjusted_close,
        volume=sum(bar.volume for bar in period),
    )
