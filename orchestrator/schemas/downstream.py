"""What the four services answer (the ``data`` of their envelopes), read in one pass from the bytes.

Each kind of answer is decoded and checked by msgspec straight from the answer's bytes, typed, so
what we do not use is skipped rather than built (a price bar's open, high, low and volume), and
then made compact at once: what later calls send (the price points, the signals, the dividends)
is serialized there, once, and what the answer passes on unchanged (a simulation's time series)
stays the bytes the service sent. A backtest waiting on its next call holds a few bytes objects,
not thousands of rows. The checks follow docs/contract.md: ints are accepted where floats are
expected, extra fields pass on where an object is passed on, and only what we use is required.

A ``data`` that fails these checks is an answer outside the contract, which the client layer
reports as a 502 with the first problem found. So is one that answers another question than the
one asked (another ticker, range, frequency or strategy, signals on days that are not the prices'):
each call says what it asked with an :data:`Expect` (the end of this module), checked on the value
read before it goes anywhere (the cache included).
"""

from __future__ import annotations

import hashlib
from bisect import bisect_left
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Generic, TypeVar

import msgspec
import orjson
from msgspec import UNSET, Raw, Struct, UnsetType

D = TypeVar("D")
T = TypeVar("T")

Number = float  # msgspec reads a JSON int as a float where a float is expected; never a string
_ENCODE = msgspec.json.Encoder().encode

#: ``nbytes`` (what a value holds, for the cache's byte bound) counts the JSON a value keeps; a list
#: of small dicts takes about this many times its JSON in memory, and a trade about this many bytes.
_HELD_AS_OBJECTS = 4
_TRADE_BYTES = 300
#: A bar's date kept for the checks of what was asked: a ten-character string and its list slot.
_DATE_BYTES = 67


class OutsideContract(ValueError):
    """A ``data`` that decoded but breaks a rule no type can say; ``str`` is ``path: problem``."""


class NotSuccess(Exception):
    """Not a success envelope (an error envelope, a success with a non-2xx status): for
    ``clients.envelope.unwrap`` to sort out."""


class _Envelope(Struct, Generic[D]):
    success: bool
    data: D


@dataclass(frozen=True, slots=True)
class AnswerKind(Generic[T]):
    """How one kind of answer is read: the typed envelope to decode, then ``compact(data, body)``.

    ``loose`` is a second reading for answers the first refuses: the first can then be strict about
    the usual shape and read it fastest (a price bar with its adjusted close).
    """

    name: str
    decoder: msgspec.json.Decoder[Any]
    compact: Callable[[Any, bytes], T]
    loose: AnswerKind[T] | None = None

    @classmethod
    def of(
        cls,
        name: str,
        data: type[Any],
        compact: Callable[[Any, bytes], T],
        loose: AnswerKind[T] | None = None,
    ) -> AnswerKind[T]:
        # _Envelope parametrised with a type given at run time, which msgspec reads: no static type
        return cls(name, msgspec.json.Decoder(_Envelope[data]), compact, loose)  # type: ignore[valid-type]

    def read(self, body: bytes, status: int) -> T:
        """The compact form of the answer's ``data``; raises msgspec's errors, OutsideContract, or
        NotSuccess for anything but a success envelope with a 2xx status."""
        kind: AnswerKind[T] = self
        try:
            envelope = self.decoder.decode(body)
        except msgspec.ValidationError:
            if self.loose is None:
                raise
            kind = self.loose
            envelope = kind.decoder.decode(body)
        if envelope.success is not True or not 200 <= status < 300:
            raise NotSuccess
        return kind.compact(envelope.data, body)


# --- market data -----------------------------------------------------------------------------------


class _Point(Struct):
    """A price bar as the strategy and portfolio services are sent it: read, it is already that."""

    date: str
    adjusted_close: Number


class _PointsData(Struct):
    prices: list[_Point]
    metadata: dict[str, Any] | None = None
    ticker: str | None = None
    frequency: str | None = None


class _Bar(Struct):
    date: str
    adjusted_close: Number | None = None
    close: Number | None = None


class _PricesData(Struct):
    prices: list[_Bar]
    metadata: dict[str, Any] | None = None
    ticker: str | None = None
    frequency: str | None = None


@dataclass(frozen=True, slots=True)
class Prices:
    """A price series as one backtest needs it.

    ``points`` is ``[{date, adjusted_close}]`` as JSON, built once: all four strategy and portfolio
    calls send it. The bars themselves are read again from ``body`` only when a caller asks for
    them (``include: ["market_data"]``).
    """

    count: int
    points: orjson.Fragment
    metadata: dict[str, Any] | None
    body: bytes
    nbytes: int
    #: A hash of the points, for the answer's fingerprint.
    digest: str
    #: What the service said the prices are (None: it did not say).
    ticker: str | None
    frequency: str | None
    #: The bars' dates, sorted: the range they cover, and the days a signal may fall on.
    dates: list[str]

    def bars(self) -> list[dict[str, Any]]:
        """Every bar as the service sent it (extra fields kept), missing optional fields null."""
        return [{**_BAR_FIELDS, **bar} for bar in orjson.loads(self.body)["data"]["prices"]]


_BAR_FIELDS = dict.fromkeys(("date", "open", "high", "low", "close", "adjusted_close", "volume"))


def _points(data: _PointsData, body: bytes) -> Prices:
    """Every bar has its adjusted close: the points are the bars as read, encoded back at once."""
    points = _ENCODE(data.prices)
    count = len(data.prices)
    return Prices(
        count,
        orjson.Fragment(points),
        data.metadata,
        body,
        len(body) + len(points) + _DATE_BYTES * count,
        _digest(points),
        data.ticker,
        data.frequency,
        sorted([point.date for point in data.prices]),
    )


def _prices(data: _PricesData, body: bytes) -> Prices:
    """Some bar has no adjusted close: its close stands in, and a bar with neither is refused."""
    points = []
    for index, bar in enumerate(data.prices):
        price = bar.adjusted_close if bar.adjusted_close is not None else bar.close
        if price is None:
            raise OutsideContract(f"prices.{index}: neither adjusted_close nor close")
        points.append({"date": bar.date, "adjusted_close": price})
    encoded = orjson.dumps(points)
    count = len(points)
    return Prices(
        count,
        orjson.Fragment(encoded),
        data.metadata,
        body,
        len(body) + len(encoded) + _DATE_BYTES * count,
        _digest(encoded),
        data.ticker,
        data.frequency,
        sorted([bar.date for bar in data.prices]),
    )


def _digest(encoded: bytes) -> str:
    return hashlib.sha256(encoded).hexdigest()


class _Dividend(Struct):
    ex_date: str
    amount_per_share: Number
    payment_date: str | None = None


class _DividendsData(Struct):
    dividends: list[dict[str, Any]] = []
    ticker: str | None = None


@dataclass(frozen=True, slots=True)
class Dividends:
    """The dividends as the service sent them, and ``[{ex_date, amount_per_share}]`` as JSON for the
    simulations."""

    items: list[dict[str, Any]]
    dividend_data: orjson.Fragment
    nbytes: int
    digest: str
    #: Whose dividends the service said they are (None: it did not say).
    ticker: str | None


#: Made once: msgspec inspects a type anew for each new ``list[...]`` object.
_DIVIDEND_LIST = list[_Dividend]


def _dividends(data: _DividendsData, _body: bytes) -> Dividends:
    checked = _convert(data.dividends, _DIVIDEND_LIST, "dividends")
    items = [{**item, "payment_date": item.get("payment_date")} for item in data.dividends]
    dividend_data = [{"ex_date": d.ex_date, "amount_per_share": d.amount_per_share} for d in checked]
    encoded = orjson.dumps(dividend_data)
    return Dividends(
        items, orjson.Fragment(encoded), _HELD_AS_OBJECTS * len(encoded), _digest(encoded), data.ticker
    )


# --- strategy --------------------------------------------------------------------------------------


class _Signal(Struct):
    date: str
    action: str
    price: Number | None = None
    trigger_details: dict[str, Any] | None = None


class _SignalsData(Struct):
    signals: list[dict[str, Any]]
    strategy_type: str | None = None


@dataclass(frozen=True, slots=True)
class Signals:
    """A strategy's signals as it sent them (extra fields kept, missing optional fields null), and
    the same as JSON for its simulation."""

    items: list[dict[str, Any]]
    fragment: orjson.Fragment
    nbytes: int
    #: The strategy the service said these are (None: it did not say).
    strategy_type: str | None


_SIGNAL_LIST = list[_Signal]


def _signals(data: _SignalsData, _body: bytes) -> Signals:
    _convert(data.signals, _SIGNAL_LIST, "signals")
    items = [
        {**signal, "price": signal.get("price"), "trigger_details": signal.get("trigger_details")}
        for signal in data.signals
    ]
    encoded = orjson.dumps(items)
    return Signals(items, orjson.Fragment(encoded), _HELD_AS_OBJECTS * len(encoded), data.strategy_type)


# --- portfolio -------------------------------------------------------------------------------------


class _TimeSeries(Struct):
    dates: list[str]
    portfolio_value: list[Number]
    holdings_value: list[Number]
    cash_balance: list[Number]
    cumulative_invested: list[Number]
    shares_held: list[Number] | UnsetType | None = UNSET
    cumulative_dividends: list[Number] | UnsetType | None = UNSET


class Trade(Struct, frozen=True):
    date: str
    action: str
    shares: Number
    price: Number
    amount: Number
    transaction_cost: Number | None = None


class FinalState(Struct, frozen=True):
    portfolio_value: Number
    total_invested: Number
    total_dividends_received: Number | None = None
    total_transaction_costs: Number | None = None


class _SimulationData(Struct):
    time_series: Raw
    final_state: FinalState
    trades: list[Trade] = []


_TIME_SERIES = msgspec.json.Decoder(_TimeSeries)


@dataclass(frozen=True, slots=True)
class Simulation:
    """One simulation: its time series as the service sent it (JSON, passed on unchanged), what the
    metrics service is sent of it (JSON), its trades and its final state."""

    time_series: orjson.Fragment
    for_metrics: orjson.Fragment
    trades: list[Trade]
    final_state: FinalState
    nbytes: int


def _simulation(data: _SimulationData, _body: bytes) -> Simulation:
    raw = bytes(data.time_series)
    try:
        series = _TIME_SERIES.decode(raw)
    except msgspec.ValidationError as error:
        raise OutsideContract(problem(error, "time_series")) from None
    # the two optional series are null in our answer when the service leaves them out
    missing = [name for name in ("shares_held", "cumulative_dividends") if getattr(series, name) is UNSET]
    if missing:
        raw = raw[: raw.rindex(b"}")] + b"".join(b',"%s":null' % name.encode() for name in missing) + b"}"
    final = data.final_state
    for_metrics = {
        "time_series": {"dates": series.dates, "portfolio_value": series.portfolio_value},
        "final_state": {"portfolio_value": final.portfolio_value, "total_invested": final.total_invested},
    }
    metrics_body = orjson.dumps(for_metrics)
    nbytes = len(raw) + len(metrics_body) + _TRADE_BYTES * len(data.trades)
    return Simulation(orjson.Fragment(raw), orjson.Fragment(metrics_body), data.trades, final, nbytes)


# --- metrics ---------------------------------------------------------------------------------------


class Scores(Struct, frozen=True):
    total_return_pct: Number | None = None
    annualized_return_pct: Number | None = None
    max_drawdown_pct: Number | None = None
    max_drawdown_duration_days: int | Number | None = None
    volatility_annualized_pct: Number | None = None
    sharpe_ratio: Number | None = None
    sortino_ratio: Number | None = None
    calmar_ratio: Number | None = None


class Metrics(Struct, frozen=True):
    active: Scores
    baseline: Scores
    comparison: dict[str, Any] | None = None


# --- ticker search (our extension of the market-data API) ---------------------------------------


class TickerMatch(Struct, frozen=True):
    """One suggestion, as the market-data service's ``GET /tickers/search`` answers it."""

    symbol: str
    name: str
    kind: str
    exchange: str | None = None


class _TickerSearchData(Struct):
    results: list[TickerMatch]


# --- the kinds, and their problems ---------------------------------------------------------------


PRICES = AnswerKind.of("prices", _PointsData, _points, loose=AnswerKind.of("prices", _PricesData, _prices))
DIVIDENDS = AnswerKind.of("dividends", _DividendsData, _dividends)
SIGNALS = AnswerKind.of("signals", _SignalsData, _signals)
SIMULATION = AnswerKind.of("simulation", _SimulationData, _simulation)
METRICS = AnswerKind.of("metrics", Metrics, lambda data, _body: data)
TICKER_SEARCH = AnswerKind.of("tickers", _TickerSearchData, lambda data, _body: data.results)


def _convert(items: Any, kind: Any, path: str) -> Any:
    try:
        return msgspec.convert(items, kind)
    except msgspec.ValidationError as error:
        raise OutsideContract(problem(error, path)) from None


def problem(error: msgspec.ValidationError, prefix: str = "") -> str:
    """``path: what is wrong`` from msgspec's ``what is wrong - at `$.data.prices[3].close```,
    with the path in our dotted form (``prices.3.close``), relative to the ``data``."""
    what, _, where = str(error).partition(" - at `")
    path = where.rstrip("`").removeprefix("$")
    if path == ".data" or path.startswith((".data.", ".data[")):
        path = path.removeprefix(".data")
    path = path.replace("[", ".").replace("]", "").lstrip(".")
    joined = ".".join(part for part in (prefix, path) if part)
    return f"{joined}: {what}"[:200] if joined else what[:200]


# --- windows ---------------------------------------------------------------------------------------


def bar_dates(prices: Prices) -> list[str]:
    return [bar["date"] for bar in orjson.loads(prices.body)["data"]["prices"]]


def prices_window(prices: Prices, first: int, stop: int) -> Prices:
    """Bars ``first`` to ``stop`` (excluded) of ``prices``, read as if the service had answered
    only those: a window of a longer fetch is what a fetch of the window gives."""
    data = orjson.loads(prices.body)["data"]
    data["prices"] = data["prices"][first:stop]
    if isinstance(data.get("metadata"), dict) and "data_points" in data["metadata"]:
        data["metadata"]["data_points"] = len(data["prices"])
    return PRICES.read(orjson.dumps({"success": True, "data": data}), 200)


def dividends_window(dividends: Dividends, start_date: str, end_date: str) -> Dividends:
    """The dividends whose ex-date falls in ``[start_date, end_date]``."""
    items = [item for item in dividends.items if start_date <= item["ex_date"] <= end_date]
    data = {"ticker": dividends.ticker, "dividends": items}
    return DIVIDENDS.read(orjson.dumps({"success": True, "data": data}), 200)


# --- what was asked --------------------------------------------------------------------------------

#: What a call asked, checked on the value its answer was read as: None when the answer matches,
#: else the problem, as ``path: what is wrong`` in our words (never what the service said).
Expect = Callable[[T], str | None]


def prices_asked(ticker: str, start_date: str, end_date: str, frequency: str) -> Expect[Prices]:
    """Prices of ``ticker`` at ``frequency`` (as far as the service says), every bar in the range:
    a weekly or monthly bar's period in it, however the service dates its bars (the period's last
    day in range, as the reference services do, or its first or last calendar day, as others do)."""
    first, last = _period_bounds(start_date, end_date, frequency)

    def check(prices: Prices) -> str | None:
        if not _same(prices.ticker, ticker):
            return "ticker: not the ticker asked"
        if not _same(prices.frequency, frequency):
            return "frequency: not the frequency asked"
        dates = prices.dates
        if dates and (dates[0][:10] < first or dates[-1][:10] > last):
            return "prices: a bar outside the dates asked"
        return None

    return check


def _period_bounds(start_date: str, end_date: str, frequency: str) -> tuple[str, str]:
    """The earliest and latest date a bar of a period overlapping the range may carry."""
    if frequency == "weekly":
        return _shift(start_date, -6), _shift(end_date, 6)
    if frequency == "monthly":
        return start_date[:8] + "01", end_date[:8] + "31"
    return start_date, end_date


def _shift(day: str, days: int) -> str:
    try:
        return (date.fromisoformat(day) + timedelta(days=days)).isoformat()
    except ValueError:  # validated before any call; a check never raises
        return day


def dividends_asked(ticker: str, start_date: str, end_date: str) -> Expect[Dividends]:
    """Dividends of ``ticker`` (as far as the service says), every ex-date in the range."""

    def check(dividends: Dividends) -> str | None:
        if not _same(dividends.ticker, ticker):
            return "ticker: not the ticker asked"
        for index, item in enumerate(dividends.items):
            if not start_date <= item["ex_date"][:10] <= end_date:
                return f"dividends.{index}.ex_date: outside the dates asked"
        return None

    return check


def signals_asked(strategy_type: str, prices: Prices) -> Expect[Signals]:
    """Signals of ``strategy_type`` (as far as the service says), each on a day of ``prices``."""

    def check(signals: Signals) -> str | None:
        if not _same(signals.strategy_type, strategy_type):
            return "strategy_type: not the strategy asked"
        dates = prices.dates
        for index, signal in enumerate(signals.items):
            day = signal["date"]
            at = bisect_left(dates, day)
            if at == len(dates) or dates[at] != day:
                return f"signals.{index}.date: not a date of the prices sent"
        return None

    return check


def _same(said: str | None, asked: str) -> bool:
    """What the service said (if it said anything) is what was asked, as services may normalise it:
    the case of a ticker or a strategy's name, spaces around it."""
    return said is None or said.strip().casefold() == asked.strip().casefold()
