"""The portfolio simulation: a strategy's BUY signals played day by day over prices and dividends.

Each day of ``price_data``, in this order:

1. Cash interest: ``cash *= (1 + rate/100) ** (calendar_days_since_previous_day / 365)`` (the annual
   percent ``cash_interest_rate_pct`` compounded daily per calendar day; nothing on the first day).
2. Dividends: every dividend whose ex-date is after the previous trading day and up to this one
   (so one going ex on a non-trading day is paid on the next trading day) pays
   ``shares_held * amount_per_share``, credited on the ex-date. Reinvested, it buys shares at this day's
   adjusted close with no transaction cost (like a broker's dividend reinvestment plan), and does not
   count as invested money nor as a trade; otherwise it is kept as cash.
3. Each BUY signal dated this day (two signals on one day buy twice) spends ``investment_per_trade`` of
   cash at this day's adjusted close. When cash is short, what is left is spent if it is more than a
   cent; otherwise the signal is skipped (no trade). The transaction cost, ``amount *
   transaction_cost_pct / 100``, is paid out of the amount: ``shares = (amount - cost) / price``.
   ``total_invested`` (and ``cumulative_invested``) count each trade's whole amount, cost included.
4. The day's values: holdings = shares x adjusted close, portfolio = cash + holdings.

Signals on days not in ``price_data`` and dividends after its last day are ignored. Everything is kept
at full precision and rounded once, in the answer: money to cents, shares to 6 decimals. A trade's
``ticker`` is null (the caller knows it).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date
from typing import Any

from services.portfolio.schemas import SimulateRequest
from services.series import PricePoint

MIN_PURCHASE = 0.01  # cash of a cent or less buys nothing
SERIES = (
    "portfolio_value",
    "holdings_value",
    "cash_balance",
    "shares_held",
    "cumulative_invested",
    "cumulative_dividends",
)


def money(value: float) -> float:
    return round(value, 2)


def share_count(value: float) -> float:
    return round(value, 6)


@dataclass
class Book:
    """The portfolio's state, at full precision."""

    cash: float
    shares: float = 0.0
    invested: float = 0.0
    dividends: float = 0.0
    costs: float = 0.0
    interest: float = 0.0


def simulate(request: SimulateRequest) -> dict[str, Any]:
    book = Book(cash=request.initial_capital)
    buys = Counter(signal.date for signal in request.signals)
    dividends = sorted(request.dividend_data, key=lambda item: item.ex_date)
    series: dict[str, list[float]] = {name: [] for name in SERIES}
    trades: list[dict[str, Any]] = []
    previous: date | None = None
    paid = 0  # dividends handled so far
    for point in request.price_data:
        if previous is not None:
            _accrue_interest(book, request.cash_interest_rate_pct, (point.date - previous).days)
        while paid < len(dividends) and dividends[paid].ex_date <= point.date:
            _receive_dividend(book, dividends[paid].amount_per_share, point, request.reinvest_dividends)
            paid += 1
        for _ in range(buys[point.date]):
            trade = _buy(book, point, request.investment_per_trade, request.transaction_cost_pct)
            if trade is not None:
                trades.append(trade)
        _record(series, book, point)
        previous = point.date
    return {
        "time_series": {"dates": [point.date.isoformat() for point in request.price_data], **series},
        "trades": trades,
        "final_state": _final_state(book, request.price_data[-1]),
    }


def _accrue_interest(book: Book, rate_pct: float, days: int) -> None:
    earned = book.cash * ((1 + rate_pct / 100) ** (days / 365) - 1)
    book.cash += earned
    book.interest += earned


def _receive_dividend(book: Book, per_share: float, point: PricePoint, reinvest: bool) -> None:
    amount = book.shares * per_share
    book.dividends += amount
    if reinvest:
        book.shares += amount / point.adjusted_close
    else:
        book.cash += amount


def _buy(book: Book, point: PricePoint, per_trade: float, cost_pct: float) -> dict[str, Any] | None:
    amount = min(per_trade, book.cash)
    if amount <= MIN_PURCHASE:
        return None
    cost = amount * cost_pct / 100
    shares = (amount - cost) / point.adjusted_close
    book.cash -= amount
    book.shares += shares
    book.invested += amount
    book.costs += cost
    return {
        "date": point.date.isoformat(),
        "action": "BUY",
        "ticker": None,
        "shares": share_count(shares),
        "price": point.adjusted_close,
        "amount": money(amount),
        "transaction_cost": money(cost),
    }


def _record(series: dict[str, list[float]], book: Book, point: PricePoint) -> None:
    holdings = book.shares * point.adjusted_close
    series["portfolio_value"].append(money(book.cash + holdings))
    series["holdings_value"].append(money(holdings))
    series["cash_balance"].append(money(book.cash))
    series["shares_held"].append(share_count(book.shares))
    series["cumulative_invested"].append(money(book.invested))
    series["cumulative_dividends"].append(money(book.dividends))


def _final_state(book: Book, last: PricePoint) -> dict[str, float]:
    holdings = book.shares * last.adjusted_close
    return {
        "total_shares": share_count(book.shares),
        "cash_balance": money(book.cash),
        "holdings_value": money(holdings),
        "portfolio_value": money(book.cash + holdings),
        "total_invested": money(book.invested),
        "total_dividends_received": money(book.dividends),
        "total_transaction_costs": money(book.costs),
        "total_interest_earned": money(book.interest),
    }
