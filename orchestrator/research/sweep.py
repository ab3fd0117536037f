"""A parameter sweep: every combination through the backtest graph, each market's data shared.

::

    combinations ──> worker 1 (the sweep's own admission slot) ──┐
                 ──> worker 2 (a slot of its own, if free)     ──┼──> rows, as each ends
                 ──> worker k                                  ──┘
    every worker: Backtester.graph(combination, market)   market = prices, dividends, baseline:
                                                          made once per market, for all

A combination that fails becomes a row with its error; it never fails the sweep. Cancelling
``run`` (a client that went away) disposes every graph in flight, and with them every call.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable, Hashable
from typing import Any

import structlog

from orchestrator.backtest.admission import Admission
from orchestrator.backtest.calls import CallTracker
from orchestrator.backtest.fingerprint import of_markets
from orchestrator.backtest.graph import Backtester, Market
from orchestrator.clients.context import CallStats
from orchestrator.errors import DeadlinePassed, ServiceTimeout, ShuttingDown, is_unexpected, to_api_error
from orchestrator.research.grid import Combination
from orchestrator.research.ranking import Row
from orchestrator.schemas.requests import BacktestRequest
from orchestrator.tracing import TraceContext

log = structlog.get_logger("orchestrator.sweep")

#: What tells one market from another in a sweep's provenance (the answer's ``data_sources``).
MARKET_FIELDS = ("ticker", "start_date", "end_date", "frequency")


class Sweep:
    """The combinations of one sweep, run ``concurrency`` at a time over shared markets."""

    def __init__(
        self,
        backtester: Backtester,
        request_id: str,
        *,
        concurrency: int,
        admission: Admission | None = None,
        include_time_series: bool = False,
        on_row: Callable[[Row], None] | None = None,
        trace: TraceContext | None = None,
    ) -> None:
        self.backtester, self.request_id, self.concurrency = backtester, request_id, concurrency
        #: The request's trace: every call of every combination is a span of it.
        self.trace = trace or TraceContext.start()
        self.admission, self.include_time_series = admission, include_time_series
        self.on_row = on_row or (lambda _row: None)
        #: Downstream calls made, by name; what they went through, for the canonical line.
        self.calls: Counter[str] = Counter()
        self.stats = CallStats()
        self.market_fingerprints: set[str] = set()
        #: Where each market's prices came from (the backtests' ``data_source``), by market.
        self.data_sources: dict[tuple[Any, ...], dict[str, Any]] = {}
        #: Written into every row (a walk-forward's fold number).
        self.labels: dict[str, Any] = {}
        self._data: dict[Hashable, Market] = {}
        self._markets: dict[Hashable, Market] = {}

    def provide(self, request: BacktestRequest, market: Market) -> None:
        """Use ``market`` for the combinations over ``request``'s market and baseline."""
        key = _baseline_key(request)
        self._markets[key] = self._data[key[0]] = market

    def knows(self, request: BacktestRequest) -> bool:
        return _baseline_key(request)[0] in self._data

    def market_of(self, request: BacktestRequest) -> Market:
        """The request's market: prices and dividends fetched once per market, the baseline run
        once per market and baseline parameters."""
        key = _baseline_key(request)
        if key not in self._markets:
            tracker, context = (
                self.tracker(),
                self.backtester.context(f"{self.request_id}.market", stats=self.stats, trace=self.trace),
            )
            data = self._data.get(key[0])
            if data is None:
                self._markets[key] = self._data[key[0]] = self.backtester.market(request, tracker, context)
            else:
                self._markets[key] = self.backtester.market_on(
                    request, data.prices, data.dividends, tracker, context
                )
        return self._markets[key]

    def tracker(self) -> CallTracker:
        """A tracker whose calls count in :attr:`calls` as they start."""
        tracker = CallTracker()
        tracker.listen(self._count)
        return tracker

    def _count(self, event: dict[str, Any]) -> None:
        if event["state"] == "started":
            self.calls[event["stage"]] += 1

    async def run(self, combinations: list[Combination], deadline_s: float) -> list[Row]:
        """A row per combination, in the order they ended; those still running when ``deadline_s``
        passes end with SERVICE_TIMEOUT."""
        rows: dict[int, Row] = {}
        pending = iter(combinations)
        workers = [
            asyncio.ensure_future(self._worker(pending, rows, first=n == 0)) for n in range(self.concurrency)
        ]
        try:
            async with asyncio.timeout(deadline_s):
                await asyncio.gather(*workers)
        except TimeoutError:
            timed_out = DeadlinePassed(deadline_s)
            for combination in combinations:
                if combination.index not in rows:
                    self._add(rows, {**self.labels, **_error_row(combination, timed_out)})
        finally:
            for worker in workers:
                worker.cancel()
        return list(rows.values())

    async def _worker(self, pending: Any, rows: dict[int, Row], first: bool) -> None:
        """Runs combinations one after another; all but the first worker take an admission slot for
        each, and stop when none is free (a busy server runs the sweep on fewer at a time)."""
        while True:
            if not first and self.admission is not None and not self.admission.admit():
                return
            combination = next(pending, None)
            began, outcome = time.monotonic(), "cancelled"
            try:
                if combination is None:
                    return
                row = await self.backtest(combination)
                outcome = row["error"]["code"] if "error" in row else "success"
                self._add(rows, row)
            finally:
                if not first and self.admission is not None:
                    latency = time.monotonic() - began if outcome == "success" else None
                    self.admission.done(latency, dropped=outcome == ServiceTimeout.code)

    def _add(self, rows: dict[int, Row], row: Row) -> None:
        rows[row["index"]] = row
        self.on_row(row)

    async def backtest(self, combination: Combination) -> Row:
        """One combination's row: its summary and comparison, or its error."""
        try:
            document = await self.backtest_document(combination)
        except Exception as error:
            if is_unexpected(error):
                log.error("unexpected error", combination=combination.index, exc_info=error)
            return {**self.labels, **_error_row(combination, error)}
        return self.row(combination, document)

    async def backtest_document(self, combination: Combination) -> dict[str, Any]:
        """One combination's backtest answer, on its shared market."""
        request = combination.request
        context = self.backtester.context(
            f"{self.request_id}.{combination.index}", stats=self.stats, trace=self.trace
        )
        graph = self.backtester.graph(request, self.tracker(), context, self.market_of(request))
        if self.admission is not None:
            # Draining: what has not started will not; what runs may until the grace is over.
            if self.admission.draining:
                raise ShuttingDown()
            graph = self.admission.abortable(graph)
        document: dict[str, Any] = await graph
        metadata = document["data"]["metadata"]
        self.market_fingerprints.add(metadata["fingerprint"]["market_data"])
        market = tuple(metadata[field] for field in MARKET_FIELDS)
        if market not in self.data_sources:
            self.data_sources[market] = {
                **dict(zip(MARKET_FIELDS, market, strict=True)),
                **metadata["data_source"],
            }
        return document

    def row(self, combination: Combination, document: dict[str, Any]) -> Row:
        data = document["data"]
        row = {
            **self.labels,
            "index": combination.index,
            "params": combination.params,
            "summary": data["active_strategy"]["summary"],
            "comparison": data["comparison"],
        }
        if self.include_time_series:
            row["time_series"] = data["active_strategy"]["time_series"]
        return row

    def metadata(self) -> dict[str, Any]:
        """What the sweep's calls were and what data it used, for the answer's metadata."""
        return {
            "calls": dict(self.calls),
            "calls_total": sum(self.calls.values()),
            "market_data": of_markets(self.market_fingerprints),
            "data_sources": sorted(
                self.data_sources.values(), key=lambda source: [source[f] for f in MARKET_FIELDS]
            ),
        }


def _baseline_key(request: BacktestRequest) -> tuple[Hashable, Hashable]:
    return (request.use_test_data, request.market_params), request.baseline_params


def _error_row(combination: Combination, error: BaseException) -> Row:
    api_error = to_api_error(error)
    return {
        "index": combination.index,
        "params": combination.params,
        "error": {"code": api_error.code, "message": api_error.message, "details": api_error.details},
    }
