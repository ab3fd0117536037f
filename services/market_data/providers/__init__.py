"""Market data providers, chosen by name: ``sample`` (default, synthetic), ``csv`` (a directory of files),
``yahoo`` (Yahoo Finance via yfinance, an optional extra: ``pip install 'backtest-orchestrator[yahoo]'``)."""

from __future__ import annotations

import os

from services.market_data.providers.base import Bar, Dividend, Provider, UnknownTicker
from services.market_data.providers.csv_files import CsvProvider
from services.market_data.providers.fixture import FixtureProvider
from services.market_data.providers.sample import SampleProvider

__all__ = [
    "Bar",
    "CsvProvider",
    "Dividend",
    "FixtureProvider",
    "Provider",
    "SampleProvider",
    "UnknownTicker",
    "make_provider",
]

PROVIDERS = ("sample", "csv", "yahoo")


def make_provider(name: str | None = None, data_dir: str | None = None) -> Provider:
    """The provider ``name`` (else ``MARKET_DATA_PROVIDER``, else ``sample``); ``csv`` reads ``data_dir``
    (else ``MARKET_DATA_DIR``); ``yahoo`` caches in ``MARKET_DATA_CACHE_DIR`` for ``MARKET_DATA_CACHE_TTL_S``.
    Raises ValueError for an unknown name, a missing directory, a bad TTL or yfinance not installed."""
    name = (name or os.environ.get("MARKET_DATA_PROVIDER") or "sample").strip().lower()
    if name == "sample":
        return SampleProvider()
    if name == "csv":
        directory = data_dir or os.environ.get("MARKET_DATA_DIR")
        if not directory:
            raise ValueError("the csv provider needs a directory: set MARKET_DATA_DIR or pass --data-dir")
        return CsvProvider(directory)
    if name == "yahoo":
        from services.market_data.providers.yahoo import YahooProvider
        from services.market_data.providers.yahoo_cache import DEFAULT_TTL_S

        ttl = os.environ.get("MARKET_DATA_CACHE_TTL_S") or str(DEFAULT_TTL_S)
        try:
            ttl_s = float(ttl)
        except ValueError:
            raise ValueError(f"MARKET_DATA_CACHE_TTL_S must be a number of seconds, not {ttl!r}") from None
        return YahooProvider(os.environ.get("MARKET_DATA_CACHE_DIR") or None, ttl_s)
    raise ValueError(f"unknown market data provider {name!r}; known: {', '.join(PROVIDERS)}")
