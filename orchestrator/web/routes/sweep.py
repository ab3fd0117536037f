"""``POST /api/sweep``: a parameter sweep (or a walk-forward), as JSON, CSV or a stream.

A stream sends a ``result`` per combination as it ends, a ``progress`` at most every
``SWEEP__PROGRESS_INTERVAL_S`` (and once after the last result), a ``fold`` per walk-forward fold,
and the JSON form's very document as ``summary`` at the end.
"""

from __future__ import annotations

import time
from typing import Any

from aiohttp import web

from orchestrator.research.plan import SweepPlan, plan_sweep
from orchestrator.research.ranking import Row, best
from orchestrator.research.run import planned_results, run_sweep
from orchestrator.research.sweep import Sweep
from orchestrator.web.csv_export import SWEEP_TABLES, csv_response, csv_table, table_of
from orchestrator.web.event_stream import EventStream, stream_run, wants_event_stream
from orchestrator.web.json_http import dump, json_response, read_json
from orchestrator.web.keys import ADMISSION, BACKTESTER, SETTINGS
from orchestrator.web.middlewares import LOG_FIELDS, REQUEST_ID
from orchestrator.web.trace_context import TRACE

routes = web.RouteTableDef()


@routes.post("/api/sweep")
async def post_sweep(request: web.Request) -> web.StreamResponse:
    settings = request.app[SETTINGS]
    # Either table is checked first, as the document's enum says; which one a sweep has depends on
    # its body (a cross-field rule, the server's alone), checked once it is read.
    asked = csv_table(request, SWEEP_TABLES)
    document = await read_json(request, settings.edge, settings.request_limits)
    plan = plan_sweep(document, settings.request_limits, settings.sweep)
    tables = ("folds",) if plan.options.walk_forward is not None else ("rows",)
    table = table_of(request, tables) if asked is not None else None
    sweep = Sweep(
        request.app[BACKTESTER],
        request[REQUEST_ID],
        concurrency=settings.sweep.concurrency,
        admission=request.app[ADMISSION],
        include_time_series=plan.options.include_time_series,
        trace=request[TRACE],
    )
    request[LOG_FIELDS].update(
        event="sweep", combinations=len(plan.combinations), rank_by=plan.options.rank_by
    )
    try:
        if table is None and wants_event_stream(request):
            return await _stream(request, plan, sweep)
        answer = await run_sweep(plan, sweep, settings.sweep.deadline_s)
        if table is not None:
            return csv_response(answer, table, "sweep")
        return json_response(dump(answer))
    finally:
        request[LOG_FIELDS].update(calls=sum(sweep.calls.values()), **sweep.stats.log_fields())


async def _stream(request: web.Request, plan: SweepPlan, sweep: Sweep) -> web.StreamResponse:
    stream = EventStream(request, final="summary")
    progress = Progress(stream, plan, request.app[SETTINGS].sweep.progress_interval_s)
    sweep.on_row = progress.row

    async def run() -> dict[str, Any]:
        answer = await run_sweep(plan, sweep, request.app[SETTINGS].sweep.deadline_s, on_fold=progress.fold)
        progress.report()  # the last progress, before the summary
        return answer

    return await stream_run(request, run(), stream)


class Progress:
    """A stream's ``result`` per row, and its ``progress`` no more often than ``interval_s``."""

    def __init__(self, stream: EventStream, plan: SweepPlan, interval_s: float) -> None:
        self.stream, self.interval_s = stream, interval_s
        self.metric, self.top_k, self.total = plan.options.rank_by, plan.options.top_k, planned_results(plan)
        self.rows: list[Row] = []
        self.began = self.reported = time.monotonic()

    def row(self, row: Row) -> None:
        self.rows.append({key: value for key, value in row.items() if key != "time_series"})
        self.stream.emit("result", row)
        if time.monotonic() - self.reported >= self.interval_s:
            self.report()

    def fold(self, fold: dict[str, Any]) -> None:
        self.stream.emit("fold", fold)

    def report(self) -> None:
        self.reported = now = time.monotonic()
        self.stream.emit(
            "progress",
            {
                "done": len(self.rows),
                "total": self.total,
                "failed": sum("error" in row for row in self.rows),
                "elapsed_ms": int((now - self.began) * 1000),
                "top": best(self.rows, self.metric, self.top_k),
            },
        )
