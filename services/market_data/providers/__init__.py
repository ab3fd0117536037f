"""Market data providers, chosen by name: ``sample`` (default, synthetic), ``csv`` (a directory of files)."""

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

PROVIDERS = ("sample", "csv")


def make_provider(name: str | None = None, data_dir: str | None = None) -> Provider:
    """The provider ``name`` (else ``MARKET_DATA_PROVIDER``, else ``sample``); ``csv`` reads ``data_dir``
    (else ``MARKET_DATA_DIR``). Raises ValueError for an unknown name or a missing directory."""
    name = (name or os.environ.get("MARKET_DATA_PROVIDER") or "sample").strip().lower()
    if name == "sample":
        return SampleProvider()
    if name == "csv":
        directory = data_dir or os.environ.get("MARKET_DATA_DIR")
        if not directory:
            raise ValueError("the csv provider needs a directory: set MARKET_DATA_DIR or pass --data-dir")
        return CsvProvider(directory)
    raise ValueError(f"unknown market data provider {name!r}; known: {', '.join(PROVIDERS)}")
