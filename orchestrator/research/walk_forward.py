"""Walk-forward: tune on one window, test the best setting on the next, join the tests end to end.

::

    bars:   |--- in-sample 1 ---|- out 1 -|
                      |--- in-sample 2 ---|- out 2 -|
                                |--- in-sample 3 ---|- out 3 -|      (folds: shifted by one out)
    or:     |------ in-sample: before split_date ------|--- out: from it ---|

The whole range is fetched once; each window is a cut of it that reads exactly as a fetch of the
window would (``schemas.downstream.prices_window``), and each window's backtests start and end on
its first and last bar, so an out-of-sample result is what ``POST /api/backtest`` gives for it.
"""

from __future__ import annotations

import asyncio
from bisect import bisect_left
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

from orchestrator.errors import DeadlinePassed, InsufficientData, to_api_error
from orchestrator.research.grid import Combination
from orchestrator.research.plan import SweepPlan
from orchestrator.research.ranking import Row, ranked
from orchestrator.research.sweep import Sweep
from orchestrator.schemas.downstream import (
    Dividends,
    Prices,
    bar_dates,
    dividends_window,
    prices_window,
)
from orchestrator.schemas.requests import BacktestRequest
from orchestrator.schemas.research import Folds, Split
from streams import just

Fold = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Window:
    """Bars ``first`` to ``stop`` (excluded) of the whole range, from ``start_date`` to ``end_date``."""

    first: int
    stop: int
    start_date: str
    end_date: str

    def describe(self) -> dict[str, Any]:
        return {"start_date": self.start_date, "end_date": self.end_date, "days": self.stop - self.first}


def windows(dates: list[str], walk: Folds | Split) -> list[tuple[Window, Window]]:
    """Each fold's in-sample and out-of-sample windows over the bars dated ``dates``."""
    if isinstance(walk, Split):
        cut = bisect_left(dates, walk.split_date)
        if cut < 2 or len(dates) - cut < 2:
            raise InsufficientData(
                "split_date must leave at least two bars on each side",
                {"data_points": len(dates), "before_split": cut, "needed": 2},
            )
        return [(_window(dates, 0, cut), _window(dates, cut, len(dates)))]
    size, step = walk.in_sample_days, walk.out_of_sample_days
    needed = size + walk.folds * step
    if len(dates) < needed:
        raise InsufficientData(
            f"{walk.folds} folds of {size} + {step} trading days need {needed} bars, not {len(dates)}",
            {"data_points": len(dates), "needed": needed},
        )
    return [
        (_window(dates, k * step, k * step + size), _window(dates, k * step + size, (k + 1) * step + size))
        for k in range(walk.folds)
    ]


def _window(dates: list[str], first: int, stop: int) -> Window:
    return Window(first, stop, dates[first], dates[stop - 1])


def within(request: BacktestRequest, window: Window) -> BacktestRequest:
    market = request.market_params.model_copy(
        update={"start_date": window.start_date, "end_date": window.end_date}
    )
    return request.model_copy(update={"market_params": market})


class WalkForward:
    """The folds of one walk-forward, run one after another, each sweep over ``sweep``."""

    def __init__(self, sweep: Sweep, plan: SweepPlan, on_fold: Callable[[Fold], None]) -> None:
        self.sweep, self.plan, self.on_fold = sweep, plan, on_fold
        self.metric = plan.options.rank_by
        self.rows: list[Row] = []

    async def run(self, deadline_s: float) -> dict[str, Any]:
        try:
            async with asyncio.timeout(deadline_s):
                return await self._run(deadline_s)
        except TimeoutError:
            raise DeadlinePassed(deadline_s) from None

    async def _run(self, deadline_s: float) -> dict[str, Any]:
        market = self.sweep.market_of(self.plan.combinations[0].request)
        prices, dividends = await asyncio.gather(_first(market.prices), _first(market.dividends))
        folds = []
        walk = self.plan.options.walk_forward
        assert walk is not None
        for number, (in_sample, out_of_sample) in enumerate(windows(bar_dates(prices), walk), 1):
            fold = await self._fold(number, in_sample, out_of_sample, prices, dividends, deadline_s)
            self.on_fold(_public(fold))
            folds.append(fold)
        return {"folds": [_public(fold) for fold in folds], "out_of_sample": joined(folds)}

    async def _fold(
        self, number: int, in_sample: Window, out_of_sample: Window, prices: Prices, dividends: Dividends,
        deadline_s: float,
    ) -> Fold:  # fmt: skip
        fold: Fold = {
            "fold": number,
            "in_sample": in_sample.describe(),
            "out_of_sample": out_of_sample.describe(),
        }
        combinations = [
            Combination(
                c.index, c.params, self._provided(within(c.request, in_sample), prices, dividends, in_sample)
            )
            for c in self.plan.combinations
        ]
        self.sweep.labels = {"fold": number}
        rows = await self.sweep.run(combinations, deadline_s)
        self.rows += rows
        top = ranked(rows, self.metric)
        fold["top"] = top[: self.plan.options.top_k]
        if not top or "error" in top[0]:
            return {**fold, "error": top[0]["error"] if top else None}
        best = self.plan.combinations[top[0]["index"]]
        tested = Combination(best.index, best.params, within(best.request, out_of_sample))
        self._provided(tested.request, prices, dividends, out_of_sample)
        try:
            document = await self.sweep.backtest_document(tested)
        except Exception as error:
            return {**fold, "params": best.params, "error": _error(error)}
        data = document["data"]
        summary = data["active_strategy"]["summary"]
        return {
            **fold,
            "params": best.params,
            "in_sample_summary": top[0]["summary"],
            "out_of_sample_summary": summary,
            "out_of_sample_comparison": data["comparison"],
            "degradation": _degradation(self.metric, top[0]["summary"], summary),
            "_series": orjson.loads(orjson.dumps(data["active_strategy"]["time_series"])),
            "_capital": tested.request.portfolio_params.initial_capital,
        }

    def _provided(
        self, request: BacktestRequest, prices: Prices, dividends: Dividends, window: Window
    ) -> BacktestRequest:
        """``request``, with its window's market cut from the whole range made known to the sweep."""
        if not self.sweep.knows(request):
            cut = prices_window(prices, window.first, window.stop)
            paid = dividends_window(dividends, window.start_date, window.end_date)
            tracker = self.sweep.tracker()
            context = self.sweep.backtester.context(
                f"{self.sweep.request_id}.market", stats=self.sweep.stats, trace=self.sweep.trace
            )
            self.sweep.provide(
                request, self.sweep.backtester.market_on(request, just(cut), just(paid), tracker, context)
            )
        return request


async def _first(observable: Any) -> Any:
    return await observable


def _degradation(metric: str, in_sample: dict[str, Any], out_of_sample: dict[str, Any]) -> dict[str, Any]:
    before, after = in_sample.get(metric), out_of_sample.get(metric)
    change = None if before is None or after is None else round(after - before, 6)
    return {"metric": metric, "in_sample": before, "out_of_sample": after, "change": change}


def _error(error: BaseException) -> dict[str, Any]:
    api_error = to_api_error(error)
    return {"code": api_error.code, "message": api_error.message, "details": api_error.details}


def _public(fold: Fold) -> Fold:
    return {key: value for key, value in fold.items() if not key.startswith("_")}


def joined(folds: list[Fold]) -> dict[str, Any] | None:
    """The out-of-sample records end to end: each fold's portfolio value scaled to start where the
    one before ended (the first at its own initial capital); the return compounded."""
    tested = [fold for fold in folds if "_series" in fold]
    if not tested:
        return None
    dates: list[str] = []
    values: list[float] = []
    level = tested[0]["_capital"]
    for fold in tested:
        scale = level / fold["_capital"]
        series = fold["_series"]
        dates += series["dates"]
        values += [round(value * scale, 2) for value in series["portfolio_value"]]
        level = series["portfolio_value"][-1] * scale
    start = tested[0]["_capital"]
    return {
        "start_date": tested[0]["out_of_sample"]["start_date"],
        "end_date": tested[-1]["out_of_sample"]["end_date"],
        "folds": len(tested),
        "total_return_pct": round((level / start - 1) * 100, 6),
        "time_series": {"dates": dates, "portfolio_value": values},
    }
