"""The yahoo provider's disk cache: what Yahoo said of one ticker and range, kept as a JSON file.

Each successful answer (bars and dividends of one ticker and range, with the exchange) is a file in
``cache_dir`` (``MARKET_DATA_CACHE_DIR``, else ``~/.cache/backtest-platform/yahoo``), written
atomically, so the same request again needs no network. A range ending two days or more before
today (UTC) is settled and kept indefinitely: note that its adjusted closes are those of the day it
was fetched (Yahoo re-scales them after each new dividend). A range reaching later, or an empty
answer, is kept ``ttl_s`` seconds (``MARKET_DATA_CACHE_TTL_S``, default an hour). Failures are never
kept (the provider stores only answers). A damaged file is a miss; a cache that cannot be written is
skipped with a warning.
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import orjson

from services.market_data.providers.base import Bar, Dividend

log = logging.getLogger("services.market_data.yahoo")

DEFAULT_CACHE_DIR = Path("~/.cache/backtest-platform/yahoo")
DEFAULT_TTL_S = 3600.0
#: A range ending this many days or more before today (UTC) is settled: every exchange has closed it.
SETTLED_AFTER = timedelta(days=2)
CACHE_VERSION = 1


@dataclass(frozen=True, slots=True)
class YahooAnswer:
    """What Yahoo said of one ticker and range: all the provider serves from it."""

    bars: tuple[Bar, ...]
    dividends: tuple[Dividend, ...]
    exchange: str | None
    fetched_at: float

    def as_json(self) -> dict[str, Any]:
        return {
            "version": CACHE_VERSION,
            "fetched_at": self.fetched_at,
            "exchange": self.exchange,
            "bars": [
                [b.date.isoformat(), b.open, b.high, b.low, b.close, b.adjusted_close, b.volume]
                for b in self.bars
            ],
            "dividends": [[d.ex_date.isoformat(), d.amount_per_share] for d in self.dividends],
        }

    @classmethod
    def from_json(cls, document: dict[str, Any]) -> YahooAnswer:
        bars = tuple(
            Bar(date.fromisoformat(day), o, h, low, c, adj, int(volume))
            for day, o, h, low, c, adj, volume in document["bars"]
        )
        dividends = tuple(Dividend(date.fromisoformat(day), amount) for day, amount in document["dividends"])
        return cls(bars, dividends, document["exchange"], float(document["fetched_at"]))


class DiskCache:
    """Answers by ticker and range, as files in ``directory``; ``clock`` gives seconds since the epoch."""

    def __init__(self, directory: Path, ttl_s: float, clock: Callable[[], float]) -> None:
        self.directory = directory
        self.ttl_s = ttl_s
        self._clock = clock

    def path(self, symbol: str, start: date, end: date) -> Path:
        return self.directory / f"{quote(symbol, safe='^=')}_{start.isoformat()}_{end.isoformat()}.json"

    def get(self, path: Path, end: date) -> YahooAnswer | None:
        """The answer kept at ``path`` if it is still good for a range ending ``end``, else None."""
        try:
            document = orjson.loads(path.read_bytes())
            if document.get("version") != CACHE_VERSION:
                return None
            answer = YahooAnswer.from_json(document)
        except FileNotFoundError:
            return None
        except Exception:  # a damaged file is a miss; the next fetch replaces it
            log.warning("ignoring unreadable cache file %s", path)
            return None
        if self._settled(end) and answer.bars:
            return answer
        return answer if self._clock() - answer.fetched_at < self.ttl_s else None

    def put(self, path: Path, answer: YahooAnswer) -> None:
        """Write atomically (a temporary file renamed over the old one): a reader sees all or nothing."""
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".tmp")
            try:
                with os.fdopen(handle, "wb") as file:
                    file.write(orjson.dumps(answer.as_json()))
                os.replace(temporary, path)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(temporary)
                raise
        except OSError as error:
            log.warning("cannot write the yahoo cache in %s: %s", path.parent, error)

    def _settled(self, end: date) -> bool:
        today = datetime.fromtimestamp(self._clock(), UTC).date()
        return end + SETTLED_AFTER <= today
