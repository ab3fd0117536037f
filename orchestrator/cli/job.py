"""``orchestrator job``: sweeps and comparisons as durable jobs on a running orchestrator
(docs/contract.md, section 7), through :class:`~orchestrator.client.OrchestratorClient`.

- ``submit``: the sweep's flags (as ``orchestrator sweep``'s, without ``--walk-forward``), or
  ``--body FILE`` (any job body: a comparison's too); prints the job's id, then watches with ``--watch``.
- ``watch ID``: a progress bar, the time left and the best rows so far, until the job is over; a
  dropped connection is resumed after the last event seen (and said), so no result is missed.
- ``status ID``, ``results ID`` (a page of the ranked table, or ``--csv`` for all of it),
  ``cancel ID``, ``list``.

Exit codes as the other client commands': 0, 1 an error answer (or, watching, a job that ended
failed or cancelled), 2 no usable answer, 130 on Ctrl-C (the job goes on: ``job cancel`` stops it).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich import box, progress
from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

from orchestrator.cli import options, sweep
from orchestrator.cli.client import metric, number, print_data_note, print_table, runner, say
from orchestrator.client import Failed, OrchestratorClient

if TYPE_CHECKING:
    from pydantic import BaseModel

    from orchestrator.client import Job, JobEvent, JobProgress, JobSummary

#: The best rows shown under the bar while a job runs.
BEST_SHOWN = 5

Action = Callable[[OrchestratorClient, argparse.Namespace, Console, Console], Awaitable[int]]


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "job",
        help="run a sweep (or a comparison) as a durable job, watch it, read its results",
        description="Sweeps and comparisons as durable jobs: submitted at once, run by every "
        "orchestrator process, their results kept as they are made (docs/contract.md, section 7).",
        epilog=options.EXIT_STATUS,
    )
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    _submit_parser(actions)
    watching = _id_parser(
        actions, "watch", watch, "follow a job: a progress bar, the time left, the best rows"
    )
    watching.add_argument("--last-event-id", metavar="ID", help="resume after this event id")
    _id_parser(actions, "status", status, "a job's status, counts, times and calls")
    reading = _id_parser(actions, "results", results, "a page of a job's ranked table (or all of it, --csv)")
    reading.add_argument("--offset", type=int, default=0, help="rows to skip (default 0)")
    reading.add_argument("--limit", type=int, default=20, help="rows to show, 1-1000 (default 20)")
    reading.add_argument("--csv", action="store_true", help="print the whole table as CSV instead")
    _id_parser(actions, "cancel", cancel, "cancel a job: no new setting of it starts anywhere")
    listing = actions.add_parser("list", help="this address's recent jobs", epilog=options.EXIT_STATUS)
    listing.add_argument("--limit", type=int, default=20, help="jobs to show, 1-100 (default 20)")
    options.add_client_options(listing, timeout_s=60.0)
    _defaults(listing, list_jobs)


def _id_parser(
    actions: argparse._SubParsersAction[argparse.ArgumentParser], name: str, action: Action, help_text: str
) -> argparse.ArgumentParser:
    parser = actions.add_parser(name, help=help_text, description=help_text, epilog=options.EXIT_STATUS)
    parser.add_argument("id", help="the job's id, as submit printed it (after -- when it starts with -)")
    # Watching, the timeout bounds the silence between two bytes of the stream (the server's
    # heartbeat breaks it every SSE_HEARTBEAT_S), not the whole watch.
    options.add_client_options(parser, timeout_s=300.0 if action is watch else 60.0)
    _defaults(parser, action)
    return parser


def _submit_parser(actions: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = actions.add_parser(
        "submit",
        help="submit a sweep (the sweep's flags) or any job body (--body FILE)",
        description="Submit a job: a sweep from the flags of `orchestrator sweep` (no --walk-forward), "
        "or the JSON body of POST /api/jobs from --body (a comparison's too). Prints the job's id.",
        epilog=options.EXIT_STATUS,
    )
    options.add_market_options(parser, required=False)
    options.add_strategy_options(parser)
    options.add_portfolio_options(parser)
    group = parser.add_argument_group("job")
    add = group.add_argument
    add("--grid", action="append", type=sweep.grid_axis, metavar="PATH=V1,V2,...", help="as sweep's --grid")
    add("--rank-by", default=sweep.DEFAULT_RANK_BY, metavar="METRIC", help="default sharpe_ratio")
    add("--top-k", type=int, default=5, metavar="K", help="the best rows progress carries (1-100, default 5)")
    add(
        "--body", metavar="FILE", help="the job's JSON body (with its kind) instead of the flags; - for stdin"
    )
    add("--idempotency-key", metavar="KEY", help="the same body with the same key makes no new job")
    add("--watch", action="store_true", help="then watch it, as `job watch` does")
    options.add_client_options(parser, timeout_s=300.0)
    _defaults(parser, submit)
    parser.set_defaults(walk_forward=None, last_event_id=None)


def _defaults(parser: argparse.ArgumentParser, action: Action) -> None:
    """``run`` as every subcommand has it; ``command``, the awaitable it runs (for tests' consoles)."""
    command = _command(action)
    parser.set_defaults(run=runner(command), command=command)


def _command(action: Action) -> Callable[[argparse.Namespace, Console, Console], Coroutine[Any, Any, int]]:
    """The action with a client open on ``--url``; a :class:`Failed` said on stderr, as its exit status."""

    async def command(args: argparse.Namespace, out: Console, err: Console) -> int:
        try:
            async with OrchestratorClient(args.url, args.timeout, **options.credentials(args)) as client:
                return await action(client, args, out, err)
        except Failed as failure:
            say(err, str(failure))
            return failure.exit_code

    return command


def command_id(job_id: str) -> str:
    """The id as a command takes it: after ``--`` when it starts with ``-`` (an id is URL-safe base64,
    and argparse would read ``-x...`` as an option)."""
    return f"-- {job_id}" if job_id.startswith("-") else job_id


def _print_json(out: Console, model: BaseModel) -> None:
    out.file.write(model.model_dump_json() + "\n")
    out.file.flush()


def _plain(rows: Iterable[BaseModel]) -> list[dict[str, Any]]:
    """Rows as the sweep's printouts read them: JSON's dicts, absent fields left out."""
    return [row.model_dump(mode="json", exclude_none=True) for row in rows]


# --- submit ----------------------------------------------------------------------------------------


def job_body(args: argparse.Namespace) -> dict[str, Any]:
    """The ``POST /api/jobs`` body: ``--body``'s, or a sweep's from the flags; ValueError if neither fits."""
    if args.body is not None:
        text = sys.stdin.read() if args.body == "-" else Path(args.body).read_text()
        try:
            body = options.json_object(text)
        except argparse.ArgumentTypeError as error:
            raise ValueError(f"--body: {error}") from None
        if "kind" not in body:
            raise ValueError('--body: a job body needs its "kind" ("sweep" or "compare")')
        return body
    flags = {"--ticker": args.ticker, "--start": args.start, "--end": args.end, "--grid": args.grid}
    if missing := [flag for flag, value in flags.items() if not value]:
        raise ValueError(f"give {', '.join(missing)} (a sweep's flags), or --body FILE")
    return {"kind": "sweep", **sweep.request_body(args)}


async def submit(client: OrchestratorClient, args: argparse.Namespace, out: Console, err: Console) -> int:
    try:
        body = job_body(args)
    except (ValueError, OSError) as error:
        say(err, f"error: {error}")
        return 2
    job = await client.submit_job(body, args.idempotency_key)
    if args.json and not args.watch:
        _print_json(out, job)
        return 0
    shown_on = err if args.json else out
    say(shown_on, f"job {job.id}: a {job.kind} of {job.total:,} settings, {job.status}")
    if not args.watch:
        say(shown_on, f"watch it: orchestrator job watch {command_id(job.id)}")
        return 0
    args.id = job.id
    return await watch(client, args, out, err)


# --- watch -----------------------------------------------------------------------------------------


class JobDisplay:
    """A job's events as they come: a live bar (done of total, the time left) over a table of the
    best rows so far; or, in plain mode, a line per ``progress`` event. ``result`` events step the
    count between two ``progress`` events, which set it; failed settings and dropped connections
    are printed as they happen, above the bar."""

    def __init__(self, console: Console, bar: bool, rank_by: str) -> None:
        self.console, self.rank_by = console, rank_by
        self.state: JobProgress | JobSummary | None = None
        self.done = 0
        self.bar = _BarWithBest(self, console) if bar else None
        self._task = self.bar.add_task("waiting", total=None, left="") if self.bar else None

    def __enter__(self) -> JobDisplay:
        if self.bar is not None:
            self.bar.start()
        return self

    def __exit__(self, *_: object) -> None:
        if self.bar is not None:
            self.bar.stop()

    def on_event(self, event: JobEvent) -> None:
        from orchestrator.client import JobProgress, SweepRow

        if isinstance(event.data, JobProgress):
            self.state, self.done = event.data, event.data.done
            if self.bar is None:
                say(self.console, progress_line(event.data, self.rank_by))
        elif isinstance(event.data, SweepRow):
            self.done += 1
            if (error := event.data.error) is not None:
                params = sweep.params_text(event.data.params)
                say(
                    self.console,
                    f"setting {event.data.index} failed: {error.code}: {error.message} ({params})",
                )
        else:  # the summary: the bar's last state
            self.state, self.done = event.data, event.data.done
        self._refresh()

    def _refresh(self) -> None:
        if self.bar is None or self._task is None or self.state is None:
            return
        total, left = self.state.total, time_left(self.state.eta_s)
        status = self.state.status
        self.bar.update(
            self._task, completed=min(self.done, total), total=total, description=status, left=left
        )

    def on_drop(self, failure: Failed, after: str | None) -> None:
        where = f"after event {after}" if after else "from the start"
        say(self.console, f"lost the event stream ({str(failure).splitlines()[0]}); resuming {where}")

    def best(self) -> Table | None:
        rows = [row for row in (self.state.top if self.state else []) if row.error is None]
        if not rows:
            return None
        return sweep.ranked_table("Best so far", self.rank_by, _plain(rows[:BEST_SHOWN]))


class _BarWithBest(progress.Progress):
    """rich's progress bar, with its display's table of the best rows so far under it."""

    def __init__(self, display: JobDisplay, console: Console) -> None:
        columns = (
            progress.SpinnerColumn(),
            progress.TextColumn("{task.description}", markup=False),
            progress.BarColumn(),
            progress.MofNCompleteColumn(),
            progress.TextColumn("{task.fields[left]}", markup=False),
        )
        self.display = display  # before rich's __init__, which renders once
        super().__init__(*columns, console=console)

    def get_renderables(self) -> Iterable[RenderableType]:
        bar, best = self.make_tasks_table(self.tasks), self.display.best()
        yield bar if best is None else Group(bar, best)


def time_left(eta_s: float | None) -> str:
    """``about 1 min 5 s left``; nothing until a setting is done."""
    if eta_s is None:
        return ""
    minutes, seconds = divmod(round(eta_s), 60)
    return f"about {minutes} min {seconds} s left" if minutes else f"about {seconds} s left"


def progress_line(state: JobProgress, rank_by: str) -> str:
    """``[40/120] running, about 12 s left; 2 failed; best sharpe_ratio 1.12 (threshold=-0.05)``"""
    left = time_left(state.eta_s)
    parts = [f"[{state.done:,}/{state.total:,}] {state.status}" + (f", {left}" if left else "")]
    parts += [f"{state.failed:,} failed"] if state.failed else []
    if best := next((row for row in state.top if row.error is None), None):
        summary = best.summary.model_dump() if best.summary else None
        parts.append(f"best {rank_by} {metric(summary, rank_by)} ({sweep.params_text(best.params)})")
    return "; ".join(parts)


async def watch(client: OrchestratorClient, args: argparse.Namespace, out: Console, err: Console) -> int:
    from orchestrator.client import JobSummary

    shown_on = err if args.json else out  # with --json, stdout carries the summary and nothing else
    rank_by = (await client.job(args.id)).rank_by  # the events do not say it
    display = JobDisplay(shown_on, shown_on.is_terminal and not args.no_progress, rank_by)
    summary: JobSummary | None = None
    with display:
        async for event in client.watch_job(args.id, args.last_event_id, on_drop=display.on_drop):
            display.on_event(event)
            if isinstance(event.data, JobSummary):
                summary = event.data
    if summary is None:  # watch_job ends with the summary, or raises
        raise Failed(f"the event stream of job {args.id} ended before its summary", 2)
    if args.json:
        _print_json(out, summary)
    else:
        print_summary(out, summary)
    return 0 if summary.status == "succeeded" else 1


def print_summary(out: Console, job: JobSummary) -> None:
    title = f"Job {job.id} {job.status}: {job.done:,} of {job.total:,} settings, {job.failed:,} failed"
    title += f"; the best {len(job.top)}, ranked by {job.rank_by}"
    print_table(out, sweep.ranked_table(title, job.rank_by, _plain(job.top)))
    every_row = f"orchestrator job results {command_id(job.id)}"
    say(out, f"calls: {number(job.calls_total, '{:,}')}{_ran(job)}; every row: {every_row}")
    print_data_note(out, {"data_sources": _plain(job.data_sources or [])})


def _ran(job: Job) -> str:
    if job.started_at is None or job.finished_at is None:
        return ""
    took = datetime.fromisoformat(job.finished_at) - datetime.fromisoformat(job.started_at)
    return f"; ran {took.total_seconds():,.1f} s"


# --- status, results, cancel, list -----------------------------------------------------------------


async def status(client: OrchestratorClient, args: argparse.Namespace, out: Console, err: Console) -> int:
    job = await client.job(args.id)
    if args.json:
        _print_json(out, job)
        return 0
    say(out, status_line(job))
    times = [f"{name} {value}" for name, value in _times(job) if value]
    say(out, "; ".join(times))
    said = "kept in Redis: survives a restart" if job.durable else "in this process only: gone when it stops"
    say(out, f"calls: {number(job.calls_total, '{:,}')}; {said}")
    print_data_note(out, {"data_sources": _plain(job.data_sources or [])})
    return 0


def status_line(job: Job) -> str:
    """``job ID: a sweep, running, 40/120 done (2 failed), about 12 s left``"""
    left = time_left(job.eta_s) if job.status == "running" else ""
    failed = f" ({job.failed:,} failed)" if job.failed else ""
    line = f"job {job.id}: a {job.kind}, {job.status}, {job.done:,}/{job.total:,} done{failed}"
    return line + (f", {left}" if left else "")


def _times(job: Job) -> list[tuple[str, str | None]]:
    return [
        ("created", job.created_at),
        ("started", job.started_at),
        ("finished", job.finished_at),
        ("expires", job.expires_at),
    ]


async def results(client: OrchestratorClient, args: argparse.Namespace, out: Console, err: Console) -> int:
    if args.csv:
        csv = await client.job_csv(args.id)
        out.file.write(csv if csv.endswith(("\n", "\r")) else csv + "\n")
        out.file.flush()
        return 0
    page = await client.job_results(args.id, args.offset, args.limit)
    if args.json:
        _print_json(out, page)
        return 0
    last = page.offset + len(page.rows)
    shown = f"rows {page.offset + 1}-{last}" if page.rows else "no rows"
    title = (
        f"Job {page.id} {page.status} ({page.done:,}/{page.total:,} done), ranked by {page.rank_by}: {shown}"
    )
    print_table(out, sweep.ranked_table(title, page.rank_by, _plain(page.rows)))
    if last < page.done:
        say(out, f"more: --offset {last}, or --csv for every row")
    return 0


async def cancel(client: OrchestratorClient, args: argparse.Namespace, out: Console, err: Console) -> int:
    job = await client.cancel_job(args.id)
    if args.json:
        _print_json(out, job)
    elif job.status == "cancelled":
        say(out, f"job {job.id} cancelled: {job.done:,} of {job.total:,} settings done")
    else:
        say(out, f"job {job.id} had already {job.status}: left as it ended")
    return 0


async def list_jobs(client: OrchestratorClient, args: argparse.Namespace, out: Console, err: Console) -> int:
    jobs = await client.jobs(args.limit)
    if args.json:
        out.file.write(json.dumps([job.model_dump(mode="json") for job in jobs]) + "\n")
        out.file.flush()
        return 0
    if not jobs:
        say(out, "no jobs from this address (finished jobs expire after JOBS__TTL_S)")
        return 0
    table = Table(box=box.SIMPLE_HEAD, show_edge=False)
    for column in ("Id", "Kind", "Status", "Done", "Created"):
        table.add_column(column, justify="right" if column == "Done" else "left")
    for job in jobs:
        done = f"{job.done:,}/{job.total:,}"
        table.add_row(*(Text(cell) for cell in (job.id, job.kind, job.status, done, job.created_at)))
    print_table(out, table)
    return 0
