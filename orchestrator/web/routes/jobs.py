"""``/api/jobs``: sweeps and comparisons as durable jobs (``orchestrator/jobs/``).

``POST`` answers 202 at once with the job's id and ``Location``; the job then runs on every
process's worker. Its record, its ranked results (a page as JSON, or all of it as CSV, read from
the store as it is sent) and its events (SSE, resumable with ``Last-Event-ID``) are read by id;
``DELETE`` cancels it.

A job is its owner's: with ``AUTH__MODE`` on, the caller's tenant, else the client's address. To
anyone else every route answers 404 NOT_FOUND for it, as for an id that never existed (never 403,
which would confirm it does); ``GET /api/jobs`` lists the caller's own. A caller with the
``jobs:admin`` scope reads, cancels and lists every job. An Idempotency-Key is its owner's.

With a mode on, making a job counts against the tenant's quotas instead of the address's
``JOBS__MAX_PER_CLIENT``: one of its jobs queued or running (held by ``web/auth.py``'s ``quotas``
under the new job's id, given back when the job ends, on whichever replica ends it) and its settings
on the tenant's day (``QUOTA__SETTINGS_PER_DAY``): 429 RATE_LIMITED past either.
"""

from __future__ import annotations

import csv
import io
import time
from datetime import UTC, datetime
from typing import Any

import orjson
from aiohttp import web
from aiohttp_sse import EventSourceResponse, sse_response

from orchestrator import metrics
from orchestrator.auth.caller import JOBS_ADMIN, Caller
from orchestrator.auth.quota import subject_of
from orchestrator.errors import ApiError, InvalidRequest, NotFound, RateLimited
from orchestrator.jobs.backend import Event
from orchestrator.jobs.model import FINISHED
from orchestrator.jobs.plan import JobPlan
from orchestrator.research.ranking import Row
from orchestrator.schemas.responses import error_envelope
from orchestrator.web.auth import CALLER, JOB_HOLD, JOB_HOLD_KEPT
from orchestrator.web.csv_export import CSV_CONTENT_TYPE, wants_csv
from orchestrator.web.json_http import dump, json_response, read_json
from orchestrator.web.keys import JOBS, QUOTAS, SETTINGS
from orchestrator.web.middlewares import LOG_FIELDS, note_error

routes = web.RouteTableDef()

IDEMPOTENCY_KEY = "Idempotency-Key"
#: The rows of one results page, by default and at most; the jobs one list shows, likewise.
PAGE_DEFAULT, PAGE_MAX = 100, 1000
#: The furthest page asked for (a job holds at most ``JOBS__MAX_SETTINGS`` rows; a page past them is empty).
OFFSET_MAX = 10**9
LIST_DEFAULT, LIST_MAX = 20, 100


@routes.post("/api/jobs")
async def post_job(request: web.Request) -> web.Response:
    settings, jobs = request.app[SETTINGS], request.app[JOBS]
    key = _idempotency_key(request)
    document = await read_json(request, settings.edge, settings.request_limits)
    plan = jobs.plan(document)
    caller = _caller(request)
    if caller is None:
        record, existing = await jobs.submit(
            document, plan, _owner(request), key, max_active=settings.jobs.max_per_client
        )
    else:
        record, existing = await _submit_for(request, caller, document, plan, key)
    request[LOG_FIELDS].update(
        event="job_submitted", job=record["id"], total=record["total"], existing=existing
    )
    data = {"id": record["id"], "status": record["status"], "total": record["total"], **jobs.public(record)}
    response = json_response({"success": True, "data": data}, status=202)
    response.headers["Location"] = f"/api/jobs/{record['id']}"
    if existing:
        response.headers["Idempotent-Replayed"] = "true"
    return response


@routes.get("/api/jobs")
async def list_jobs(request: web.Request) -> web.Response:
    jobs = request.app[JOBS]
    limit = _integer(request, "limit", LIST_DEFAULT, 1, LIST_MAX)
    records = await jobs.recent(_reader(request), limit)
    return json_response({"success": True, "data": {"jobs": [jobs.public(record) for record in records]}})


@routes.get("/api/jobs/{id}")
async def get_job(request: web.Request) -> web.Response:
    status = await request.app[JOBS].status(request.match_info["id"], _reader(request))
    return json_response({"success": True, "data": status})


@routes.delete("/api/jobs/{id}")
async def cancel_job(request: web.Request) -> web.Response:
    jobs = request.app[JOBS]
    record = await jobs.cancel(request.match_info["id"], _reader(request))
    request[LOG_FIELDS].update(event="job_cancelled", job=record["id"], job_status=record["status"])
    return json_response({"success": True, "data": jobs.public(record)})


@routes.get("/api/jobs/{id}/results")
async def job_results(request: web.Request) -> web.StreamResponse:
    jobs, job = request.app[JOBS], request.match_info["id"]
    if wants_csv(request):
        await jobs.record(job, _reader(request))
        return await _csv(request, job)
    offset = _integer(request, "offset", 0, 0, OFFSET_MAX)
    limit = _integer(request, "limit", PAGE_DEFAULT, 1, PAGE_MAX)
    record, rows = await jobs.page(job, _reader(request), offset, limit)
    counts = {name: record[name] for name in ("id", "status", "total", "done", "failed", "rank_by", "order")}
    return json_response(
        {"success": True, "data": {**counts, "offset": offset, "limit": limit, "rows": rows}}
    )


async def _csv(request: web.Request, job: str) -> web.StreamResponse:
    """The whole ranked table, a page of the store at a time: never all of it in memory."""
    response = web.StreamResponse(headers={"Content-Disposition": f'attachment; filename="job-{job}.csv"'})
    response.content_type, response.charset = CSV_CONTENT_TYPE, "utf-8"
    columns: _Columns | None = None
    async for rows in request.app[JOBS].all_rows(job):
        if columns is None:
            columns = _Columns(rows)
            await response.prepare(request)
            await response.write(_encode([columns.header()]))
        await response.write(_encode(columns.row(row) for row in rows))
    if columns is None:  # no row yet: the header alone
        await response.prepare(request)
        await response.write(_encode([_Columns([]).header()]))
    await response.write_eof()
    return response


class _Columns:
    """A table's columns, from its first rows (the best, so successes when there are any)."""

    def __init__(self, rows: list[Row]) -> None:
        self.params = list(rows[0]["params"]) if rows else []
        ok = next((row for row in rows if "summary" in row), {})
        self.metrics, self.comparison = list(ok.get("summary", {})), list(ok.get("comparison", {}))

    def header(self) -> list[str]:
        return ["rank", "index", *self.params, *self.metrics, *self.comparison, "error_code", "error_message"]

    def row(self, row: Row) -> list[Any]:
        summary, compared, error = (
            row.get("summary") or {},
            row.get("comparison") or {},
            row.get("error") or {},
        )
        return [
            row["rank"],
            row["index"],
            *(row["params"].get(path) for path in self.params),
            *(summary.get(name) for name in self.metrics),
            *(compared.get(name) for name in self.comparison),
            error.get("code"),
            error.get("message"),
        ]


def _encode(rows: Any) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows([_cell(value) for value in row] for row in rows)
    return out.getvalue().encode()


def _cell(value: Any) -> str:
    """As JSON writes it, as ``web/csv_export.py`` does: ``null`` as nothing."""
    if value is None:
        return ""
    return value if isinstance(value, str) else orjson.dumps(value).decode()


@routes.get("/api/jobs/{id}/events")
async def job_events(request: web.Request) -> web.StreamResponse:
    """``result`` per kept setting (its id the event's), ``progress`` (no id) at most every
    ``JOBS__PROGRESS_INTERVAL_S``, then ``summary`` (with an id) when the job is over."""
    settings, jobs, job = request.app[SETTINGS], request.app[JOBS], request.match_info["id"]
    await jobs.record(job, _reader(request))
    after = request.headers.get("Last-Event-ID") or request.query.get("last_event_id") or None
    if after is not None and not jobs.store.valid_event_id(after):
        message = "is not an event id of this stream"
        raise InvalidRequest(
            f"Last-Event-ID {message}", {"errors": [{"field": "header Last-Event-ID", "message": message}]}
        )
    async with sse_response(request, ping_interval=settings.sse_heartbeat_s) as response:
        try:
            await _watch(request, response, job, after)
        except ApiError as error:  # Redis went away mid-stream: said as the stream's last event
            await response.send(dump(error_envelope(note_error(request, error))).decode(), event="error")
    return response


async def _watch(request: web.Request, response: EventSourceResponse, job: str, after: str | None) -> None:
    jobs, interval = request.app[JOBS], request.app[SETTINGS].jobs.progress_interval_s
    await response.send(orjson.dumps(await _progress(request, job)).decode(), event="progress")
    reported = time.monotonic()
    while not jobs.closing:
        for event in await jobs.events(job, after, min(1.0, interval)):
            data = await _data(request, job, event)
            await response.send(orjson.dumps(data).decode(), event=event.kind, id=event.id)
            after = event.id
            if event.kind == "summary":
                return
        if time.monotonic() - reported >= interval:
            try:
                progress = await _progress(request, job)
            except NotFound:  # expired while watched: nothing more will come
                return
            await response.send(orjson.dumps(progress).decode(), event="progress")
            reported = time.monotonic()


async def _data(request: web.Request, job: str, event: Event) -> dict[str, Any]:
    if event.kind == "result":
        return event.row or {}
    jobs = request.app[JOBS]
    status = await jobs.status(job, _reader(request))
    _, top = await jobs.page(job, None, 0, status["top_k"])  # its reader checked by the line above
    return {**status, "top": top}


async def _progress(request: web.Request, job: str) -> dict[str, Any]:
    jobs = request.app[JOBS]
    record = await jobs.record(job, _reader(request))
    _, top = await jobs.page(job, None, 0, record["top_k"])  # its reader checked by the line above
    public = jobs.public(record)
    fields = ("status", "total", "done", "failed", "succeeded", "eta_s", "started_at")
    return {**{name: public[name] for name in fields}, "over": record["status"] in FINISHED, "top": top}


async def _submit_for(
    request: web.Request, caller: Caller, document: Any, plan: JobPlan, key: str | None
) -> tuple[dict[str, Any], bool]:
    """Submit for a tenant: its settings spent on its day first (given back if no job is made, or
    the Idempotency-Key's earlier one is answered), the job made under the id its hold was taken for."""
    limiter, hold = request.app[QUOTAS], request[JOB_HOLD]
    if not await limiter.spend(caller, "settings", plan.total):
        request[LOG_FIELDS]["quota"] = "settings"
        metrics.child(metrics.QUOTA_REFUSED, limiter.config.tenant_label(caller.tenant), "settings").inc()
        raise RateLimited("settings", _seconds_to_midnight())
    made = False
    try:
        record, existing = await request.app[JOBS].submit(
            document, plan, _owner(request), key, max_active=None, job=hold.member, quota=subject_of(caller)
        )
        made = not existing
    finally:
        if not made:
            await limiter.refund(caller, "settings", plan.total)
    request[JOB_HOLD_KEPT] = made  # a replayed key's job holds the place it took when it was made
    return record, existing


def _seconds_to_midnight() -> float:
    now = datetime.now(UTC)
    return 86_400 - (now.hour * 3600 + now.minute * 60 + now.second)


def _caller(request: web.Request) -> Caller | None:
    caller = request.get(CALLER)
    return caller if isinstance(caller, Caller) else None


def _owner(request: web.Request) -> str:
    """Whose a job made by this request is: the caller's tenant, or without callers the client's
    address (``web/forwarded.py`` has made it the real client's behind trusted proxies)."""
    caller = _caller(request)
    if caller is not None:
        return f"tenant:{caller.tenant}"
    return request.remote or "unknown"


def _reader(request: web.Request) -> str | None:
    """Whose jobs this request may see: its owner's, or everyone's (None) with ``jobs:admin``."""
    caller = _caller(request)
    return None if caller is not None and caller.may(JOBS_ADMIN) else _owner(request)


def _idempotency_key(request: web.Request) -> str | None:
    key = request.headers.get(IDEMPOTENCY_KEY)
    if key is None:
        return None
    if not 1 <= len(key) <= 255 or not (key.isascii() and key.isprintable()):
        message = "must be 1 to 255 printable ASCII characters"
        raise InvalidRequest(
            f"{IDEMPOTENCY_KEY} {message}",
            {"errors": [{"field": f"header {IDEMPOTENCY_KEY}", "message": message}]},
        )
    return key


def _integer(request: web.Request, name: str, default: int, least: int, most: int) -> int:
    given = request.query.get(name)
    if given is None:
        return default
    if not (given.isascii() and given.isdigit()) or not least <= int(given) <= most:  # '²'.isdigit()
        message = f"must be a whole number from {least} to {most}"
        raise InvalidRequest(
            f"Query parameter {name} {message}", {"errors": [{"field": f"query {name}", "message": message}]}
        )
    return int(given)
