"""Which backtests the server takes: an adaptive limit, no queue, and a drain on shutdown.

The ``admission`` middleware guards the routes that run backtests (JSON and streamed alike). Past
the limit it answers 503 SERVICE_UNAVAILABLE with ``Retry-After`` at once, before the body is read;
nothing waits in a queue. Each backtest that ends teaches the limit (``resilience.limit``) its
latency, or that it timed out. Liveness, health and the page are never limited.

On SIGTERM (``drain``, an on_shutdown hook: aiohttp has stopped accepting by then) new backtests
are refused, ``/api/health`` answers 503 ``draining``, and backtests in flight get ``grace_s`` to
finish; those still running then end with SERVICE_UNAVAILABLE (a streamed one with an ``error``
event), so that every client gets an answer before the process exits.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from aiohttp import web

from orchestrator import metrics
from orchestrator.errors import Overloaded, ServiceTimeout, ShuttingDown, to_api_error
from orchestrator.web.keys import ADMISSION, SETTINGS
from orchestrator.web.middlewares import LOG_FIELDS

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

#: The routes that run backtests, by canonical path (a sweep takes more slots as it runs).
ADMITTED = frozenset({"/api/backtest", "/api/sweep", "/api/compare"})
#: Whose duration teaches the limit a backtest's latency: not a sweep's, which lasts as long as its
#: grid does; its combinations teach the limit their own (``research/sweep.py``).
TIMED = frozenset({"/api/backtest", "/api/compare"})


@web.middleware
async def admission(request: web.Request, handler: Handler) -> web.StreamResponse:
    route = request.match_info.route.resource
    if route is None or route.canonical not in ADMITTED or request.method != "POST":
        return await handler(request)
    gate = request.app[ADMISSION]
    if not gate.admit():
        request[LOG_FIELDS]["shed"] = reason = "draining" if gate.draining else "overloaded"
        metrics.SHED.labels(reason).inc()
        raise ShuttingDown() if gate.draining else Overloaded(gate.limit.limit, gate.limit.retry_after_s())
    in_flight = metrics.child(metrics.IN_FLIGHT, route.canonical.removeprefix("/api/"))
    in_flight.inc()
    began = time.monotonic()
    code = "INTERNAL_ERROR"
    try:
        response = await handler(request)
        code = request[LOG_FIELDS].get("outcome", "success")  # a stream's error is in the log fields
        return response
    except asyncio.CancelledError:
        code = "cancelled"
        raise
    except Exception as error:
        code = to_api_error(error).code
        raise
    finally:
        timed = code == "success" and route.canonical in TIMED
        gate.done(time.monotonic() - began if timed else None, dropped=code == ServiceTimeout.code)
        in_flight.dec()


async def drain(app: web.Application) -> None:
    """on_shutdown: let backtests in flight finish within the grace period, then end the rest."""
    await app[ADMISSION].drain(app[SETTINGS].drain.grace_s)
