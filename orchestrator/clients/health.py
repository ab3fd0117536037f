"""Is a service up? ``GET {url}/health``, answered 200 with ``"status": "healthy"``.

Health checks go through a transport of their own (a small pool apart from the services' busy
ones), so that ``/api/health`` stays quick when the orchestrator is loaded.
"""

from __future__ import annotations

from typing import Literal

import aiohttp
import orjson
from reactivex import operators as ops
from reactivex.abc import SchedulerBase

from orchestrator.clients.transport import Answer, Request, Transport
from orchestrator.errors import CompressedAnswer
from orchestrator.tracing import TraceContext
from streams import timeout_after

Health = Literal["healthy", "unhealthy", "unreachable", "timeout"]


async def check_health(
    transport: Transport,
    url: str,
    timeout_s: float,
    scheduler: SchedulerBase,
    trace: TraceContext | None = None,
) -> Health:
    """``healthy``, or why not: ``unhealthy`` (answered otherwise), ``unreachable``, ``timeout``;
    sent as a span of ``trace`` when given."""
    headers = trace.child_headers() if trace is not None else {}
    check = transport.send(Request("GET", url, headers=headers)).pipe(
        timeout_after(timeout_s, scheduler, TimeoutError),
        ops.map(_state),
    )
    try:
        return await check
    except TimeoutError:
        return "timeout"
    except CompressedAnswer:
        return "unhealthy"  # it answered, otherwise than asked
    except aiohttp.ClientError:
        return "unreachable"


def _state(answer: Answer) -> Health:
    try:
        healthy = answer.status == 200 and orjson.loads(answer.body).get("status") == "healthy"
    except (orjson.JSONDecodeError, AttributeError):
        healthy = False
    return "healthy" if healthy else "unhealthy"
