"""The ``sample`` provider: synthetic, deterministic daily data for any well-formed ticker, offline.

NOT real market prices; every answer's metadata says so. The series is a pure function of the
(upper-cased) ticker, so any date range agrees with every other range asked, in any process.

How a series is made (see :mod:`.sample_profile` for the per-kind parameters):

- The log price is ``log(price_2020) + growth * years_since_2020 + x + n_ex * log(1 - yield/4)``: a trend,
  a deviation ``x`` from it, and a drop of ``yield/4`` of the price on each ex-dividend date.
- ``x`` is a mean-reverting random walk (Ornstein-Uhlenbeck, reversion 0.35 a year), so prices swing
  with the kind's volatility but stay within a sane band of the trend over decades.
- ``x`` on each January 1st (the year's anchor) is drawn first, as an annual AR(1) from 1970; then
  each year is generated on its own (a seed per ticker and year) and pinned to end at the next
  anchor. A request for 2020-2022 therefore generates three years, not fifty, and years are cached.
- Bars fall on the sessions of the ticker's exchange (:mod:`..calendars`: the NYSE's for US tickers,
  every day for crypto...), so 2020-01-01 to 2022-01-01 has 505 daily bars, as real data does; data
  exists from 1970 to 2099. An early close (the day after Thanksgiving, Christmas Eve) is a shorter
  session: its volume and its high-low range shrink with its length; its close moves as any day's.
- Open = previous close moved by a small overnight gap; high/low lie beyond max/min(open, close);
  prices are rounded to cents (FX pairs to 4 decimals) and never below one tick; volume is an int.
- Dividends: quarterly for stocks and ETFs (none for indexes, crypto, FX, futures), ex-dates on a
  fixed day of every third month (moved to the next session), ``amount_per_share`` = yield/4 x the
  previous close rounded to 4 decimals, paid 21 days later (moved to the next session).
- ``adjusted_close`` equals ``close``: there are no splits, and the dividends are given separately
  by ``/dividends``; a back-adjusted close would count them twice in a simulation that credits them.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from typing import Any

from services.market_data import tickers
from services.market_data.calendars import US, Calendar, calendar, calendar_for
from services.market_data.providers.base import Bar, Dividend, TickerMatch, UnknownTicker
from services.market_data.providers.sample_profile import Profile, profile, stable_seed

FIRST_YEAR, LAST_YEAR = 1970, 2099
REFERENCE_DAY = date(2020, 1, 1)
MEAN_REVERSION = 0.35  # per year: a deviation from the trend halves in about two years
DAYS_A_YEAR = 252
PAYMENT_DELAY = timedelta(days=21)

METADATA = {
    "provider": "sample",
    "synthetic": True,
    "note": "Synthetic data generated from the ticker; not real market prices",
}


class SampleProvider:
    metadata: dict[str, Any] = METADATA

    def __init__(self) -> None:
        calendar(US)  # built now (about a second with its import), not while a first request waits

    def search(self, query: str, limit: int) -> list[TickerMatch]:
        """The bundled list of common tickers (``services/market_data/tickers.py``); any ticker has data."""
        return tickers.search(query, limit)

    def provenance(self, ticker: str) -> dict[str, Any]:
        return {**METADATA, "calendar": _calendar(_known(ticker)).code}

    def daily_bars(self, ticker: str, start: date, end: date) -> list[Bar]:
        key = _known(ticker)
        return [
            bar for year in _years(start, end) for bar in _year(key, year).bars if start <= bar.date <= end
        ]

    def dividends(self, ticker: str, start: date, end: date) -> list[Dividend]:
        key = _known(ticker)
        return [
            d for year in _years(start, end) for d in _year(key, year).dividends if start <= d.ex_date <= end
        ]


def _known(ticker: str) -> str:
    """The cache key of a ticker; anything starting with ZZZ is unknown, to try the error path by hand."""
    key = ticker.upper()
    if key.startswith("ZZZ"):
        raise UnknownTicker(ticker)
    return key


def _years(start: date, end: date) -> range:
    return range(max(start.year, FIRST_YEAR), min(end.year, LAST_YEAR) + 1)


@dataclass(frozen=True, slots=True)
class _Year:
    bars: tuple[Bar, ...]
    dividends: tuple[Dividend, ...]


@lru_cache(maxsize=64)
def _anchors(key: str) -> tuple[float, ...]:
    """``x`` on January 1st of each year from FIRST_YEAR to LAST_YEAR + 1: the OU process sampled yearly."""
    sigma = profile(key).volatility
    keep = math.exp(-MEAN_REVERSION)
    spread = sigma * math.sqrt((1 - keep**2) / (2 * MEAN_REVERSION))
    draw = random.Random(stable_seed(key, "anchors"))
    anchors = [0.0]
    for _ in range(FIRST_YEAR, LAST_YEAR + 1):
        anchors.append(anchors[-1] * keep + spread * draw.gauss(0.0, 1.0))
    return tuple(anchors)


def _deviations(key: str, year: int, count: int, draw: random.Random) -> list[float]:
    """Daily ``x`` over the year's ``count`` trading days, starting at its anchor and pinned to the next."""
    anchors, sd = _anchors(key), profile(key).volatility / math.sqrt(DAYS_A_YEAR)
    start, target = anchors[year - FIRST_YEAR], anchors[year - FIRST_YEAR + 1]
    path, x = [], start
    for _ in range(count):
        x = x * (1 - MEAN_REVERSION / DAYS_A_YEAR) + sd * draw.gauss(0.0, 1.0)
        path.append(x)
    # a linear correction (a bridge) so the last day lands on the next year's anchor
    miss = target - path[-1]
    return [x + miss * (i + 1) / count for i, x in enumerate(path)]


def _calendar(key: str) -> Calendar:
    return calendar(calendar_for(key, profile(key).kind))


def _ex_dates(p: Profile, year: int, sessions: Calendar) -> list[date]:
    if p.dividend_yield <= 0:
        return []
    return [sessions.on_or_after(date(year, month, p.ex_day)) for month in range(p.ex_month, 13, 3)]


@lru_cache(maxsize=512)
def _year(key: str, year: int) -> _Year:
    """One calendar year of a ticker's bars and dividends."""
    p, sessions = profile(key), _calendar(key)
    days = sessions.between(date(year, 1, 1), date(year, 12, 31))
    if not days:  # a year the exchange's calendar does not reach (Hong Kong's ends in 2049)
        return _Year((), ())
    draw = random.Random(stable_seed(key, "year", year))
    deviations = _deviations(key, year, len(days), draw)
    ex_dates = _ex_dates(p, year, sessions)
    drop = math.log(1 - p.dividend_yield / 4)
    sd = p.volatility / math.sqrt(DAYS_A_YEAR)

    def level(day: date, x: float, paid: int) -> float:
        years = (day - REFERENCE_DAY).days / 365.25
        return math.exp(math.log(p.price_2020) + p.growth * years + x + (4 * (year - 2020) + paid) * drop)

    previous = level(days[0], _anchors(key)[year - FIRST_YEAR], 0)
    bars, dividends, paid = [], [], 0
    for day, x in zip(days, deviations, strict=True):
        if paid < len(ex_dates) and ex_dates[paid] == day:
            payment = sessions.on_or_after(day + PAYMENT_DELAY)
            dividends.append(Dividend(day, round(previous * p.dividend_yield / 4, 4), payment))
            paid += 1
        close = level(day, x, paid)
        bars.append(_bar(p, day, previous, close, sd, draw, sessions.session_share(day)))
        previous = close
    return _Year(tuple(bars), tuple(dividends))


def _bar(
    p: Profile, day: date, previous: float, close: float, sd: float, draw: random.Random, share: float
) -> Bar:
    """A day's OHLCV around its close; rounding keeps ``low <= open, close <= high`` and prices positive.
    ``share`` is the session's length (1.0, less on an early close): fewer hours, less range and volume."""
    tick = 10.0**-p.decimals
    reach = 0.5 * sd * math.sqrt(share)
    open_ = previous * math.exp(0.25 * sd * draw.gauss(0.0, 1.0))
    high = max(open_, close) * math.exp(reach * abs(draw.gauss(0.0, 1.0)))
    low = min(open_, close) * math.exp(-reach * abs(draw.gauss(0.0, 1.0)))
    o, h, lo, c = (max(round(v, p.decimals), tick) for v in (open_, high, low, close))
    move = abs(math.log(close / previous)) / sd  # busier on big days
    volume = int(share * p.volume * math.exp(0.25 * draw.gauss(0.0, 1.0)) * (1 + 0.5 * move))
    return Bar(day, o, max(h, o, c), min(lo, o, c), c, c, volume)
