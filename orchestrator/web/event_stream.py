"""A route answered as Server-Sent Events (``Accept: text/event-stream``).

A backtest's or a comparison's graph (``routes/backtest.py``) runs as for JSON; its call tracker's
progress events are written as ``progress``, then exactly one ``result`` (the very bytes of the
JSON answer) or ``error`` (the envelope): :func:`stream_graph`. A sweep's stream
(``routes/sweep.py``) is the same machinery with its own events, ending with ``summary``.
aiohttp-sse frames the events and sends comment heartbeats while the stream is idle. If the client
leaves, the handler is cancelled and the graph disposed; on shutdown, a stream still open when the
drain's grace is over
ends with an ``error`` event (``backtest/admission.py``).
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Awaitable
from typing import Any

import orjson
from aiohttp import web
from aiohttp_sse import sse_response
from reactivex import Observable

from orchestrator.backtest.calls import CallTracker
from orchestrator.schemas.responses import error_envelope
from orchestrator.web.json_http import dump
from orchestrator.web.keys import SETTINGS
from orchestrator.web.middlewares import note_error

EVENT_STREAM = "text/event-stream"


def wants_event_stream(request: web.Request) -> bool:
    return EVENT_STREAM in request.headers.get("Accept", "")


class EventStream:
    """The events of one streamed run, queued in the order they happen; the run's end is one
    ``final`` event (its answer's very bytes) or one ``error`` (the envelope), and the last."""

    def __init__(self, request: web.Request, final: str = "result") -> None:
        self.request, self.final = request, final
        self.queue: asyncio.Queue[tuple[str, bytes]] = asyncio.Queue()

    def emit(self, event: str, data: dict[str, Any]) -> None:
        self.queue.put_nowait((event, orjson.dumps(data)))

    def progress(self, event: dict[str, Any]) -> None:
        self.emit("progress", event)

    def finish(self, run: asyncio.Future[Any]) -> None:
        """Done callback of the run: queue its answer, or the error it ended with."""
        if run.cancelled():
            return
        error = run.exception()
        if error is None:
            self.queue.put_nowait((self.final, dump(run.result())))
        else:
            self.fail(error)

    def fail(self, error: BaseException) -> None:
        self.queue.put_nowait(("error", dump(error_envelope(note_error(self.request, error)))))


async def stream_graph(
    request: web.Request, graph: Observable[Any], tracker: CallTracker
) -> web.StreamResponse:
    """``graph`` run as a stream: ``tracker``'s progress as each call starts and ends, then its answer."""
    stream = EventStream(request)
    tracker.listen(stream.progress)
    return await stream_run(request, _await(graph), stream)


async def stream_run(request: web.Request, run: Awaitable[Any], stream: EventStream) -> web.StreamResponse:
    """Send ``stream``'s events as ``run`` goes, until its final event or its error."""
    heartbeat = request.app[SETTINGS].sse_heartbeat_s
    # aiohttp-sse serves GET by default; our stream answers a POST, as browsers must use fetch for it.
    async with sse_response(request, ping_interval=heartbeat, allow_all_methods=True) as response:
        running = asyncio.ensure_future(run)
        running.add_done_callback(stream.finish)
        try:
            for event_id in itertools.count(1):
                event, data = await stream.queue.get()
                await response.send(data.decode(), event=event, id=str(event_id))
                if event in (stream.final, "error"):
                    break
        finally:
            running.cancel()  # a no-op when finished; disposes the graph when the client left mid-stream
    return response


async def _await(graph: Observable[Any]) -> Any:
    return await graph
