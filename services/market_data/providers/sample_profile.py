"""Who a ticker is, for the sample provider: its kind and the parameters of its synthetic series.

Everything is drawn from a seed made with SHA-256 of the upper-cased ticker (never Python's ``hash()``,
which changes between runs), so a ticker always gets the same profile, in any process.

Kinds and their annualised volatility (each ticker gets its own value inside the band):

- ``index`` (``^GSPC``): 15-18%, no dividends;
- ``etf`` (a known list: SPY, QQQ, IWM...): 16-20%, dividend yield 1-2% a year;
- ``leveraged_etf`` (a known list: TQQQ, UPRO, SOXL...): ``|leverage|`` x an index's 16-18%, so a 3x fund
  swings about three times an index (48-54%); yield 0.2-0.8%; inverse funds trend down;
- ``stock`` (anything else): 25-35%, dividend yield 0.5-3%;
- ``crypto`` (``-USD`` and similar suffixes): 65-85%, no dividends;
- ``fx`` (``=X``): 7-10%, no dividends, quoted to 4 decimals; ``future`` (other ``=``): 20-30%, none.
"""

from __future__ import annotations

import hashlib
import math
import random
from dataclasses import dataclass
from functools import lru_cache

#: Leveraged and inverse ETFs and their daily leverage.
LEVERAGED = {
    "TQQQ": 3, "SQQQ": -3, "UPRO": 3, "SPXL": 3, "SPXU": -3, "SPXS": -3, "SOXL": 3, "SOXS": -3,
    "TNA": 3, "TZA": -3, "TECL": 3, "TECS": -3, "FAS": 3, "FAZ": -3, "LABU": 3, "LABD": -3,
    "UDOW": 3, "SDOW": -3, "URTY": 3, "SRTY": -3, "TMF": 3, "TMV": -3, "FNGU": 3, "YINN": 3,
    "SSO": 2, "QLD": 2, "SDS": -2, "QID": -2, "UWM": 2, "DDM": 2, "NUGT": 2,
}  # fmt: skip

ETFS = frozenset(
    {
        "SPY", "QQQ", "IWM", "DIA", "VOO", "VTI", "IVV", "EFA", "EEM", "VEA", "VWO", "AGG", "BND", "TLT",
        "IEF", "GLD", "SLV", "XLK", "XLF", "XLE", "XLV", "XLI", "XLY", "XLP", "XLU", "XLB", "XLRE", "SMH",
        "SOXX", "ARKK", "VNQ", "HYG", "LQD", "SCHD", "VIG", "VYM", "VUG", "VTV", "XBI", "KRE",
    }
)  # fmt: skip

CRYPTO_SUFFIXES = ("-USD", "-USDT", "-EUR", "-GBP", "-BTC")


@dataclass(frozen=True, slots=True)
class Profile:
    kind: str
    volatility: float  # annualised standard deviation of daily log returns (a fraction)
    growth: float  # annual log growth of the price trend, before dividends are paid out
    price_2020: float  # the trend price on 2020-01-01
    dividend_yield: float  # paid quarterly, a fraction of the price a year; 0 for none
    ex_month: int  # the first ex-dividend month of the year (1-3); then every 3 months
    ex_day: int  # the day of the month of the ex-dates (moved to the next weekday)
    volume: int  # a typical day's volume
    decimals: int  # prices are rounded to this many decimals


def stable_seed(*parts: object) -> int:
    """A 64-bit seed from ``parts``, the same in every process (unlike ``hash()``)."""
    digest = hashlib.sha256("|".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:8], "big")


def kind_of(key: str) -> str:
    if key.startswith("^"):
        return "index"
    if key.endswith("=X"):
        return "fx"
    if "=" in key:
        return "future"
    if key.endswith(CRYPTO_SUFFIXES):
        return "crypto"
    if key in LEVERAGED:
        return "leveraged_etf"
    return "etf" if key in ETFS else "stock"


@lru_cache(maxsize=4096)
def profile(key: str) -> Profile:
    """The profile of an upper-cased ticker."""
    draw = random.Random(stable_seed(key, "profile"))
    u = [draw.random() for _ in range(7)]  # drawn up front, so every kind uses the same stream
    kind = kind_of(key)
    volatility, growth, prices, yields, volume = _KIND_PARAMS[kind]
    volatility, growth = _between(u[0], *volatility), _between(u[1], *growth)
    if kind == "leveraged_etf":
        # the fund's daily moves are its leverage times an index's; inverse funds decay over time
        leverage = LEVERAGED[key]
        volatility, growth = abs(leverage) * volatility, math.copysign(0.05 * abs(leverage), leverage)
    return Profile(
        kind=kind,
        volatility=volatility,
        growth=growth,
        price_2020=_log_uniform(u[2], *prices),
        dividend_yield=_between(u[3], *yields),
        ex_month=1 + int(u[4] * 3),
        ex_day=8 + int(u[5] * 17),
        volume=int(_log_uniform(u[6], volume, volume * 50)) if volume else 0,
        decimals=4 if kind == "fx" else 2,
    )


def _between(u: float, low: float, high: float) -> float:
    return low + u * (high - low)


def _log_uniform(u: float, low: float, high: float) -> float:
    return math.exp(math.log(low) + u * (math.log(high) - math.log(low)))


# kind: (volatility band, growth band, 2020 price band, dividend yield band, lowest typical volume)
_Band = tuple[float, float]
_KIND_PARAMS: dict[str, tuple[_Band, _Band, _Band, _Band, int]] = {
    "index": ((0.15, 0.18), (0.06, 0.08), (1_000.0, 5_000.0), (0.0, 0.0), 20_000_000),
    "etf": ((0.16, 0.20), (0.06, 0.08), (30.0, 400.0), (0.01, 0.02), 2_000_000),
    "leveraged_etf": ((0.16, 0.18), (0.0, 0.0), (10.0, 100.0), (0.002, 0.008), 5_000_000),
    "stock": ((0.25, 0.35), (0.04, 0.10), (10.0, 500.0), (0.005, 0.03), 200_000),
    "crypto": ((0.65, 0.85), (0.10, 0.20), (20.0, 50_000.0), (0.0, 0.0), 50_000_000),
    "fx": ((0.07, 0.10), (-0.01, 0.01), (0.5, 150.0), (0.0, 0.0), 0),
    "future": ((0.20, 0.30), (0.0, 0.04), (20.0, 2_000.0), (0.0, 0.0), 50_000),
}
