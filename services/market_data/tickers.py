"""The bundled list of common US tickers (``tickers.csv``), and the ranking every ticker search uses.

The list is about 240 rows: large stocks, ETFs (the ones :mod:`.providers.sample_profile` treats as
ETFs or leveraged ETFs, so a suggestion's kind is what the sample data makes of it), the main
indexes and a few cryptocurrencies. Each row is ``symbol,name,kind,exchange``; ``kind`` is the API's
``market_type`` (``Stock``, ``ETF``, ``Index``, ``Crypto``) and an empty exchange is unknown.

Search is case-insensitive and ranks in five tiers, by symbol within a tier:

0. the symbol is the query;
1. the symbol starts with the query;
2. the name starts with the query (``s&p`` finds "S&P 500" before the funds that track it);
3. another word of the name starts with the query (``ultra`` finds "ProShares UltraPro QQQ");
4. the query is anywhere else in the symbol or the name.

In symbols, ``.`` and ``-`` are the same (``BRK.B`` finds ``BRK-B``).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from functools import lru_cache
from importlib import resources

from services.market_data.providers.base import TickerMatch
from services.market_data.providers.sample_profile import kind_of

#: The kinds a bundled row may have: the API's ``market_type`` values.
KINDS = ("Stock", "ETF", "Index", "Crypto")
DATA_FILE = "tickers.csv"


@lru_cache(maxsize=1)
def bundled() -> tuple[TickerMatch, ...]:
    """Every row of the bundled list, in the file's order (read once)."""
    text = resources.files("services.market_data").joinpath(DATA_FILE).read_text(encoding="utf-8")
    return tuple(
        TickerMatch(row["symbol"], row["name"], row["kind"], row["exchange"] or None)
        for row in csv.DictReader(text.splitlines())
    )


@lru_cache(maxsize=1)
def _by_symbol() -> dict[str, TickerMatch]:
    return {_symbol_key(match.symbol): match for match in bundled()}


def known(symbol: str) -> TickerMatch | None:
    """The bundled row of ``symbol`` (any case, ``.`` or ``-``), if there is one."""
    return _by_symbol().get(_symbol_key(symbol))


#: The sample data's kinds (:func:`.providers.sample_profile.kind_of`) as the API's ``market_type``.
MARKET_TYPES = {
    "index": "Index",
    "fx": "FX",
    "future": "Future",
    "crypto": "Crypto",
    "leveraged_etf": "ETF",
    "etf": "ETF",
    "stock": "Stock",
}


def guess_kind(symbol: str) -> str:
    """The kind of a symbol the list does not have, from its form (``^`` an index, ``-USD`` crypto...),
    as the sample data tells kinds apart."""
    return MARKET_TYPES[kind_of(symbol.upper())]


def search(query: str, limit: int, universe: Iterable[TickerMatch] | None = None) -> list[TickerMatch]:
    """Up to ``limit`` tickers of ``universe`` (default: the bundled list) matching ``query``, best first."""
    text = query.strip().lower()
    if not text or limit <= 0:
        return []
    symbol_text = _symbol_key(text)
    word_start = re.compile(r"(?<![a-z0-9])" + re.escape(text))
    ranked = []
    for match in bundled() if universe is None else universe:
        tier = _tier(_symbol_key(match.symbol), match.name.lower(), symbol_text, text, word_start)
        if tier is not None:
            ranked.append((tier, match.symbol, match))
    ranked.sort(key=lambda item: item[:2])
    return [match for _, _, match in ranked[:limit]]


def _tier(symbol: str, name: str, symbol_text: str, text: str, word_start: re.Pattern[str]) -> int | None:
    if symbol == symbol_text:
        return 0
    if symbol.startswith(symbol_text):
        return 1
    if name.startswith(text):
        return 2
    if word_start.search(name):
        return 3
    if symbol_text in symbol or text in name:
        return 4
    return None


def _symbol_key(symbol: str) -> str:
    return symbol.lower().replace(".", "-")
