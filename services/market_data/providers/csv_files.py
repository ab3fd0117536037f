"""The ``csv`` provider: real data the user brings, as Yahoo-style CSV files in one directory.

- Prices: ``{TICKER}.csv`` with the header ``Date,Open,High,Low,Close,Adj Close,Volume`` (columns found
  by name, in any order, any case). ``Adj Close`` may be absent (then it is the close) and so may
  ``Volume`` (then 0).
- Dividends: an optional ``{TICKER}_dividends.csv`` with ``Date,Dividends``, as Yahoo exports them;
  the date is the ex-date and ``payment_date`` is null (Yahoo does not give it).
- No prices file means no such ticker (INVALID_TICKER); no dividends file means no dividends.
- Bad rows (a missing field, an unparseable, ``null``, non-finite or non-positive number, a date that
  is not ``YYYY-MM-DD``, possibly followed by a time) are skipped, never fatal. Rows are sorted by
  date; when a date repeats, the last row wins. Files are re-read only when they change.
"""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Callable, Iterable
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

from services.market_data import tickers
from services.market_data.providers.base import Bar, Dividend, TickerMatch, UnknownTicker
from services.market_data.schemas import TICKER

T = TypeVar("T")

_LEADING_DAY = re.compile(r"\s*(\d{4}-\d{2}-\d{2})")
_PRICE_COLUMNS = ("open", "high", "low", "close")


class BadRow(ValueError):
    """A row that cannot be read; it is skipped."""


class CsvProvider:
    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)
        if not self.directory.is_dir():
            raise ValueError(f"market data directory not found: {self.directory}")
        self.metadata: dict[str, Any] = {"provider": "csv", "synthetic": False, "source": str(self.directory)}
        self._cache: dict[Path, tuple[tuple[int, int], list[Any]]] = {}
        self._listed: tuple[int, list[TickerMatch]] | None = None

    def provenance(self, ticker: str) -> dict[str, Any]:
        # the days are the files' own: whatever sessions the exchange had, as the files recorded them
        return {**self.metadata, "calendar": "files"}

    def daily_bars(self, ticker: str, start: date, end: date) -> list[Bar]:
        path = self._file(ticker, ".csv")
        if path is None:
            raise UnknownTicker(ticker)
        return [bar for bar in self._read(path, parse_bar) if start <= bar.date <= end]

    def dividends(self, ticker: str, start: date, end: date) -> list[Dividend]:
        if self._file(ticker, ".csv") is None:
            raise UnknownTicker(ticker)
        path = self._file(ticker, "_dividends.csv")
        if path is None:
            return []
        return [item for item in self._read(path, parse_dividend) if start <= item.ex_date <= end]

    def search(self, query: str, limit: int) -> list[TickerMatch]:
        """Among the tickers that have a prices file here (no other has data), as the bundled list ranks."""
        return tickers.search(query, limit, self._tickers())

    def _tickers(self) -> list[TickerMatch]:
        """A ticker per prices file, named as the bundled list names it (else by its symbol); listed
        again when the directory changes."""
        version = self.directory.stat().st_mtime_ns
        if self._listed is None or self._listed[0] != version:
            files = self.directory.glob("*.csv")  # a dividends file's name is no ticker ("_")
            symbols = sorted({path.stem.upper() for path in files if TICKER.fullmatch(path.stem)})
            self._listed = (version, [_named(symbol) for symbol in symbols])
        return self._listed[1]

    def _file(self, ticker: str, suffix: str) -> Path | None:
        for name in dict.fromkeys((ticker, ticker.upper(), ticker.lower())):
            path = self.directory / f"{name}{suffix}"
            if path.is_file():
                return path
        return None

    def _read(self, path: Path, parse: Callable[[dict[str, str]], T]) -> list[T]:
        stat = path.stat()
        version = (stat.st_mtime_ns, stat.st_size)
        cached = self._cache.get(path)
        if cached is None or cached[0] != version:
            with path.open(newline="", encoding="utf-8-sig") as file:
                cached = (version, read_rows(file, parse))
            self._cache[path] = cached
        return cached[1]


def _named(symbol: str) -> TickerMatch:
    """``symbol`` as the bundled list names it (the file's spelling kept: that is what finds the file)."""
    row = tickers.known(symbol)
    if row is None:
        return TickerMatch(symbol, symbol, tickers.guess_kind(symbol))
    return TickerMatch(symbol, row.name, row.kind, row.exchange)


def read_rows(lines: Iterable[str], parse: Callable[[dict[str, str]], T]) -> list[T]:
    """Every row ``parse`` can read, sorted by date; of rows with the same date, the last is kept."""
    reader = csv.reader(lines)
    header = [name.strip().lower() for name in next(reader, [])]
    by_day: dict[date, T] = {}
    for cells in reader:
        if len(cells) < len(header):
            continue  # a field is missing (or the line is blank)
        row = {name: cell.strip() for name, cell in zip(header, cells, strict=False)}
        try:
            item = parse(row)
        except BadRow:
            continue
        by_day[_day_of(item)] = item
    return [by_day[day] for day in sorted(by_day)]


def parse_bar(row: dict[str, str]) -> Bar:
    open_, high, low, close = (_positive(row, name) for name in _PRICE_COLUMNS)
    adjusted = _positive(row, "adj close") if "adj close" in row else close
    volume = int(_number(row, "volume")) if "volume" in row else 0
    if volume < 0:
        raise BadRow("negative volume")
    return Bar(_day(row), open_, high, low, close, adjusted, volume)


def parse_dividend(row: dict[str, str]) -> Dividend:
    return Dividend(ex_date=_day(row), amount_per_share=_positive(row, "dividends"), payment_date=None)


def _day_of(item: Any) -> date:
    return item.date if isinstance(item, Bar) else item.ex_date


def _day(row: dict[str, str]) -> date:
    match = _LEADING_DAY.match(row.get("date", ""))
    if match is None:
        raise BadRow("no date")
    try:
        return date.fromisoformat(match.group(1))
    except ValueError:
        raise BadRow("not a real date") from None


def _number(row: dict[str, str], name: str) -> float:
    try:
        value = float(row[name])
    except (KeyError, ValueError):
        raise BadRow(f"{name} is missing or not a number") from None
    if not math.isfinite(value):
        raise BadRow(f"{name} is not finite")
    return value


def _positive(row: dict[str, str], name: str) -> float:
    value = _number(row, name)
    if value <= 0:
        raise BadRow(f"{name} is not positive")
    return value
