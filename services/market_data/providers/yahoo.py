"""The ``yahoo`` provider: real daily prices, dividends and ticker search from Yahoo Finance, via yfinance.

An optional extra (``pip install 'backtest-orchestrator[yahoo]'``): yfinance is imported when the
provider is made, never by this module, so the default install runs without it.

What it answers:

- Bars: Yahoo's daily chart for ``[start, end]``, both days included (yfinance's ``end`` excludes its
  day, so it is asked for ``end + 1``). ``close`` is Yahoo's close (adjusted for splits, as Yahoo
  gives it), ``adjusted_close`` its ``Adj Close`` (splits and dividends; ``auto_adjust=False``). A row
  with a missing, non-finite or non-positive price is skipped, as the csv provider does.
- Dividends: the chart's dividend events in the range; the date is the ex-date, ``payment_date`` is
  null (Yahoo does not give it). One Yahoo request answers both ``/prices`` and ``/dividends``.
- ``provenance(ticker)``: ``calendar`` is the exchange as Yahoo's chart metadata names it
  (``fullExchangeName``: ``NYSEArca``, ``NasdaqGS``, ``CCC`` for crypto...). The days are the sessions
  Yahoo recorded there, not a calendar's rules; ``yahoo`` until a chart of the ticker has been read.
- ``search``: Yahoo's search, quotes of the kinds the API knows (:data:`KINDS`), others skipped.

Unknown ticker or empty range. yfinance first looks up the ticker's time zone (a one-day chart,
remembered in its own cache) and then asks for the range. A ticker Yahoo answers 404 for ("No data
found, symbol may be delisted"), at either step, is :class:`UnknownTicker`; a known ticker whose range
holds no bar (a weekend, before its listing) is an empty list, which the orchestrator answers as
INSUFFICIENT_DATA. A ticker delisted since its time zone was cached answers 404 and is unknown too.

When Yahoo misbehaves, it is :class:`ProviderUnavailable` (SERVICE_UNAVAILABLE, 503, which the
orchestrator retries and counts toward the breaker like any outage), with a ``reason``:

- ``rate_limited``: HTTP 429 (yfinance's ``YFRateLimitError``); ``retry_after`` is Yahoo's
  ``Retry-After`` when it sends one, else :data:`RATE_LIMIT_RETRY_AFTER_S`.
- ``unavailable``: no connection, a timeout, a 5xx, Yahoo's "will be right back" page, or Yahoo
  refusing us (401/403, e.g. "Invalid Crumb") after yfinance's own second try.
- ``bad_answer``: an answer that cannot be read (truncated, not JSON, not the chart's shape). A 503
  rather than EXTERNAL_API_ERROR: it is Yahoo's answer that was bad, not this service's, and another
  try may well read a whole one, so the orchestrator's retries and breaker apply as to an outage.

yfinance is told to raise (``config.debug.hide_exceptions = False``): by default it logs an error and
returns an empty frame, and an unknown ticker, an outage and an empty range would look the same. The
session it is given is watched (:class:`_Watch`): a 429 or 5xx from Yahoo's data endpoints ends the
call at once, with its status (yfinance would otherwise try again with another cookie, then read a 5xx
error body as "no data"), and the status of the last data answer settles what yfinance reports as
missing prices.

Disk cache (:mod:`.yahoo_cache`): each successful answer is kept as a JSON file per ticker and
range, so the same request again needs no network. yfinance's own small caches (time zones, Yahoo's
cookie) go to ``cache_dir/yfinance``; its in-memory answer cache is emptied after each call (ours is
the cache, and it must not keep failed answers). yfinance has no public way to empty it: that, and
every other reach inside yfinance, is in :mod:`.yfinance_insides`, each assumption tested.

Blocking. yfinance does blocking network I/O, so the provider says ``blocking = True`` and the
service runs its calls in a worker thread (:func:`services.common.json_endpoint`), never on the
event loop. Concurrent requests for the same ticker and range wait for one another and share one
Yahoo request (``/prices`` and ``/dividends`` of one backtest arrive together).
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import math
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import date, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import urlsplit

from services.market_data.providers.base import (
    Bar,
    Dividend,
    ProviderUnavailable,
    TickerMatch,
    UnknownTicker,
)
from services.market_data.providers.yahoo_cache import (
    DEFAULT_CACHE_DIR,
    DEFAULT_TTL_S,
    DiskCache,
    YahooAnswer,
)
from services.market_data.providers.yfinance_insides import forget_answers

log = logging.getLogger("services.market_data.yahoo")

INSTALL_HINT = "pip install 'backtest-orchestrator[yahoo]'"
#: Seconds to wait after a 429 when Yahoo does not say (it usually does not).
RATE_LIMIT_RETRY_AFTER_S = 60.0
#: Seconds each request to Yahoo may take: less than the orchestrator's 10 s per attempt.
DEFAULT_TIMEOUT_S = 8.0

#: Yahoo's ``quoteType`` -> the API's ``market_type``; quotes of other types are not offered.
KINDS = {
    "EQUITY": "Stock",
    "ETF": "ETF",
    "INDEX": "Index",
    "CRYPTOCURRENCY": "Crypto",
    "CURRENCY": "FX",
    "FUTURE": "Future",
}

METADATA = {
    "provider": "yahoo",
    "synthetic": False,
    "note": "Real market data from Yahoo Finance (via yfinance), for personal use under Yahoo's terms",
}

#: Yahoo's hosts whose answers are data (the chart, search, quote summary), not cookie or crumb.
_DATA_HOSTS = ("query1.finance.yahoo.com", "query2.finance.yahoo.com")
_CRUMB_PATH = "/v1/test/getcrumb"


def load_yfinance() -> ModuleType:
    """yfinance, or a ValueError saying how to install it (``make_provider`` answers it to the user)."""
    try:
        return importlib.import_module("yfinance")
    except ImportError:
        raise ValueError(f"the yahoo provider needs yfinance, an optional extra: {INSTALL_HINT}") from None


class _YahooRefused(Exception):
    """Yahoo answered a data request with a 429 or a 5xx: raised from the session, through yfinance."""

    def __init__(self, status: int, retry_after: float | None) -> None:
        super().__init__(f"Yahoo answered HTTP {status}")
        self.status = status
        self.retry_after = retry_after


class _Watch:
    """Wraps a session's ``request`` (every verb goes through it): remembers, per thread, the status
    of the last answer from a data endpoint, and raises :class:`_YahooRefused` for a 429 or 5xx."""

    def __init__(self) -> None:
        self._local = threading.local()

    def attach(self, session: Any) -> None:
        send = session.request

        def request(method: str, url: str, *args: Any, **kwargs: Any) -> Any:
            answer = send(method, url, *args, **kwargs)
            parts = urlsplit(url)
            if parts.hostname in _DATA_HOSTS and parts.path != _CRUMB_PATH:
                status = int(answer.status_code)
                self._local.status = status
                if status == 429 or status >= 500:
                    raise _YahooRefused(status, _retry_after(answer))
            return answer

        session.request = request

    def reset(self) -> None:
        self._local.status = None

    @property
    def last_status(self) -> int | None:
        return getattr(self._local, "status", None)


def _retry_after(answer: Any) -> float | None:
    try:
        value = float(answer.headers.get("Retry-After", ""))
    except (TypeError, ValueError, AttributeError):
        return None
    return value if math.isfinite(value) and value >= 0 else None


def _new_session() -> Any:
    """A curl_cffi session that looks like Chrome, as yfinance makes its own (Yahoo blocks others)."""
    from curl_cffi import requests as curl_requests

    return curl_requests.Session(impersonate="chrome")


class YahooProvider:
    """Daily data from Yahoo Finance, cached on disk; see the module's docstring."""

    metadata: dict[str, Any] = METADATA
    #: yfinance blocks on the network: the service calls this provider in a worker thread.
    blocking = True

    def __init__(
        self,
        cache_dir: str | Path | None = None,
        ttl_s: float = DEFAULT_TTL_S,
        *,
        session: Any = None,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._yf = load_yfinance()
        if not ttl_s >= 0:
            raise ValueError(f"the yahoo cache TTL must be a number of seconds >= 0, not {ttl_s!r}")
        self.cache_dir = Path(cache_dir or DEFAULT_CACHE_DIR).expanduser()
        self.ttl_s = ttl_s
        self.timeout_s = timeout_s
        self._clock = clock
        self._cache = DiskCache(self.cache_dir, ttl_s, clock)
        self._errors = _YfErrors(self._yf)
        # yfinance raises instead of logging and returning an empty frame (process-wide setting)
        self._yf.config.debug.hide_exceptions = False
        with contextlib.suppress(Exception):  # only where its caches live: it runs without them
            self._yf.set_tz_cache_location(str(self.cache_dir / "yfinance"))
        self._session = session if session is not None else _new_session()
        self._watch = _Watch()
        self._watch.attach(self._session)
        self._exchanges: dict[str, str] = {}
        self._locks = tuple(threading.Lock() for _ in range(64))

    # --- the Provider protocol ---------------------------------------------------------------------

    def provenance(self, ticker: str) -> dict[str, Any]:
        return {**METADATA, "calendar": self._exchanges.get(ticker.upper(), "yahoo")}

    def daily_bars(self, ticker: str, start: date, end: date) -> list[Bar]:
        return list(self._answer(ticker, start, end).bars)

    def dividends(self, ticker: str, start: date, end: date) -> list[Dividend]:
        return list(self._answer(ticker, start, end).dividends)

    def search(self, query: str, limit: int) -> list[TickerMatch]:
        if limit <= 0 or not query.strip():
            return []
        try:
            with self._calling():
                found = self._yf.Search(
                    query.strip(),
                    max_results=min(2 * limit, 50),  # room for the kinds that are skipped
                    news_count=0,
                    session=self._session,
                    timeout=self.timeout_s,
                )
                quotes = found.quotes
            matches = [match for match in map(_match, quotes) if match is not None]
        except Exception as error:
            raise self._unavailable(error, f"search {query!r}") from None
        return matches[:limit]

    # --- one ticker and range: the cache, then Yahoo -----------------------------------------------

    def _answer(self, ticker: str, start: date, end: date) -> YahooAnswer:
        symbol = ticker.upper()
        path = self._cache.path(symbol, start, end)
        with self._locks[hash(path.name) % len(self._locks)]:
            answer = self._cache.get(path, end)
            if answer is None:
                answer = self._fetch(symbol, start, end)
                self._cache.put(path, answer)
        if answer.exchange:
            self._exchanges[symbol] = answer.exchange
        return answer

    def _fetch(self, symbol: str, start: date, end: date) -> YahooAnswer:
        fetched_at = self._clock()
        try:
            with self._calling():
                ticker = self._yf.Ticker(symbol, session=self._session)
                frame = ticker.history(
                    start=start.isoformat(),
                    end=(end + timedelta(days=1)).isoformat(),  # yfinance's end is exclusive
                    interval="1d",
                    auto_adjust=False,
                    actions=True,
                    timeout=self.timeout_s,
                )
                bars, dividends = _read_frame(frame, start, end)
                return YahooAnswer(bars, dividends, _exchange(ticker), fetched_at)
        except Exception as error:
            if self._errors.no_such_ticker(error, self._watch.last_status):
                raise UnknownTicker(symbol) from None
            if self._errors.no_prices(error, self._watch.last_status):
                return YahooAnswer((), (), None, fetched_at)
            raise self._unavailable(error, symbol) from None

    @contextlib.contextmanager
    def _calling(self) -> Iterator[None]:
        self._watch.reset()
        try:
            yield
        finally:
            # yfinance keeps past-range answers in memory, failed ones included; ours is on disk
            forget_answers(self._yf)

    def _unavailable(self, error: Exception, subject: str) -> ProviderUnavailable:
        failure = self._errors.unavailable(error, self._watch.last_status)
        if failure.reason == "bad_answer":
            log.warning("could not read Yahoo's answer for %s", subject, exc_info=error)
        else:
            log.warning("Yahoo failed for %s: %s (%s)", subject, failure.reason, type(error).__name__)
        return failure


class _YfErrors:
    """What yfinance raised, sorted: no such ticker, no prices in the range, or why Yahoo failed."""

    def __init__(self, yf: Any) -> None:
        exceptions = importlib.import_module(f"{yf.__name__}.exceptions")

        def kind(name: str) -> Any:
            return getattr(exceptions, name, ())  # () matches nothing, in a version without it

        self.rate_limit = kind("YFRateLimitError")
        self.tz_missing = kind("YFTzMissingError")
        self.prices_missing = kind("YFPricesMissingError")
        self.ticker_missing = kind("YFTickerMissingError")
        self.data = kind("YFDataException")

    def no_such_ticker(self, error: Exception, last_status: int | None) -> bool:
        if isinstance(error, self.prices_missing):
            return last_status == 404  # the range itself answered "No data found, symbol may be delisted"
        if isinstance(error, (self.tz_missing, self.ticker_missing)):
            return True
        return _http_status(error) == 404  # yfinance's fallback for a missing time zone: quoteSummary

    def no_prices(self, error: Exception, last_status: int | None) -> bool:
        return isinstance(error, self.prices_missing) and last_status not in (401, 403)

    def unavailable(self, error: Exception, last_status: int | None) -> ProviderUnavailable:
        status = error.status if isinstance(error, _YahooRefused) else _http_status(error)
        if isinstance(error, self.rate_limit) or status == 429:
            after = error.retry_after if isinstance(error, _YahooRefused) else None
            return ProviderUnavailable(
                "Yahoo Finance is rate limiting this service (HTTP 429)",
                reason="rate_limited",
                retry_after=after if after is not None else RATE_LIMIT_RETRY_AFTER_S,
            )
        if status is not None and (status >= 500 or status in (401, 403)):
            return ProviderUnavailable(f"Yahoo Finance answered HTTP {status}", reason="unavailable")
        if isinstance(error, self.prices_missing) and last_status in (401, 403):
            return ProviderUnavailable(f"Yahoo Finance answered HTTP {last_status}", reason="unavailable")
        if isinstance(error, self.data) and "DOWN" in str(error):  # its "will be right back" page
            return ProviderUnavailable("Yahoo Finance says it is down", reason="unavailable")
        if isinstance(error, OSError | TimeoutError) and status is None:
            # curl_cffi's connection errors and timeouts are OSErrors
            return ProviderUnavailable("Yahoo Finance could not be reached", reason="unavailable")
        return ProviderUnavailable("Yahoo Finance sent an answer that could not be read", reason="bad_answer")


def _http_status(error: BaseException) -> int | None:
    """The status of an HTTP error raised for an answer (``raise_for_status``), else None."""
    response = getattr(error, "response", None)
    status = getattr(response, "status_code", None)
    return status if isinstance(status, int) else None


def _exchange(ticker: Any) -> str | None:
    """The exchange as the chart's metadata names it, as ``history`` left it: yfinance 1.7's
    ``get_history_metadata()`` reads it with no request of its own (1.0 to 1.6 asked Yahoo for an
    hourly chart first, for the trading periods, which it now asks for only when that key is read).
    None when it is not there."""
    meta = ticker.get_history_metadata()
    if isinstance(meta, Mapping):
        for key in ("fullExchangeName", "exchangeName"):
            value = meta.get(key)
            if isinstance(value, str) and value.strip():
                return value.strip()
    return None


def _read_frame(frame: Any, start: date, end: date) -> tuple[tuple[Bar, ...], tuple[Dividend, ...]]:
    """Bars and dividends of yfinance's frame (a row per day, indexed by the day in the exchange's
    time zone), in ``[start, end]``; rows with a price that is missing, not finite or not positive
    are skipped. A frame without the columns of a chart raises: the answer was not one."""
    columns = set(frame.columns)
    missing = {"Open", "High", "Low", "Close"} - columns
    if missing:
        raise ValueError(f"no {', '.join(sorted(missing))} in Yahoo's answer")
    adjusted = "Adj Close" if "Adj Close" in columns else "Close"
    bars: dict[date, Bar] = {}
    dividends: dict[date, Dividend] = {}
    for stamp, row in zip(frame.index, frame.to_dict("records"), strict=True):
        day = stamp.date()
        if not start <= day <= end:
            continue
        amount = _number(row.get("Dividends"))
        if amount is not None and amount > 0:
            dividends[day] = Dividend(day, amount, None)
        prices = [_number(row.get(name)) for name in ("Open", "High", "Low", "Close", adjusted)]
        if any(value is None or value <= 0 for value in prices):
            continue
        volume = _number(row.get("Volume"))
        o, h, low, c, adj = (float(value) for value in prices)  # type: ignore[arg-type]
        bars[day] = Bar(day, o, h, low, c, adj, int(volume) if volume is not None and volume > 0 else 0)
    return tuple(bars[d] for d in sorted(bars)), tuple(dividends[d] for d in sorted(dividends))


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _match(found: Any) -> TickerMatch | None:
    """One of Yahoo's search quotes as a match, or None for a kind the API does not offer."""
    if not isinstance(found, dict):
        return None
    kind = KINDS.get(str(found.get("quoteType", "")).upper())
    symbol = found.get("symbol")
    if kind is None or not isinstance(symbol, str) or not symbol:
        return None
    name = next((found[k] for k in ("longname", "shortname") if isinstance(found.get(k), str)), symbol)
    exchange = next((found[k] for k in ("exchDisp", "exchange") if isinstance(found.get(k), str)), None)
    return TickerMatch(symbol, name.strip() or symbol, kind, exchange)
