"""Services that misbehave on purpose: the untidy ways real services fail, on demand.

``Chaos(rate, faults, seed).middleware`` is an aiohttp middleware for a fake or stand-in service:
each POST is, with probability ``rate``, answered by one of ``faults`` (chosen uniformly) instead
of the service; ``rate`` may be changed while it runs, and ``seen`` counts what it did. The fault
suite of the tests, the resilience benchmark and the soak put it in front of their fake services,
to see that the orchestrator keeps its contract, and how often it still answers, when the
services behind it fail in every way ``docs/contract.md`` lists:

=================  ==========================================================================
fault              what the caller sees
=================  ==========================================================================
``500_envelope``   500 with an error envelope (``INTERNAL_ERROR``)
``503_detail``     503 with the envelope nested under FastAPI's ``detail`` (``SERVICE_UNAVAILABLE``)
``502_html``       502 with a proxy's HTML page
``500_empty``      500 with no body
``error_in_200``   200 whose envelope says ``success: false`` (``SERVICE_UNAVAILABLE``)
``html_200``       200 with an HTML page: not JSON at all
``reset``          the connection closed with no answer
``stall``          no answer for ``stall_s`` (30 s)
``trickle``        the right headers, then the body a few bytes at a time over ``stall_s``
``wrong_shape``    200 with a success envelope whose ``data`` is not what the contract says
=================  ==========================================================================
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence

import orjson
from aiohttp import web

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

FAULTS = (
    "500_envelope",
    "503_detail",
    "502_html",
    "500_empty",
    "error_in_200",
    "html_200",
    "reset",
    "stall",
    "trickle",
    "wrong_shape",
)
#: Faults another try can get past: the mix of the resilience benchmark (5xx, HTML, resets, error
#: envelopes, stalls). ``wrong_shape`` is well-formed JSON that breaks the contract: not retried.
TRANSIENT = ("500_envelope", "502_html", "reset", "error_in_200", "stall")

HTML = b"<html><body><h1>502 Bad Gateway</h1></body></html>"


def _envelope(code: str) -> bytes:
    return orjson.dumps({"success": False, "error": {"code": code, "message": "chaos", "details": {}}})


class Chaos:
    def __init__(
        self, rate: float, faults: Sequence[str] = FAULTS, seed: int = 0, stall_s: float = 30.0
    ) -> None:
        unknown = set(faults) - set(FAULTS)
        if unknown:
            raise ValueError(f"unknown faults: {sorted(unknown)}; known: {', '.join(FAULTS)}")
        self.rate, self.faults, self.stall_s = rate, list(faults), stall_s
        self.seen: Counter[str] = Counter()  # answers by fault, "ok" for the service's own
        self._rng = random.Random(seed)

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.method != "POST" or not self.faults or self._rng.random() >= self.rate:
            self.seen["ok"] += 1
            return await handler(request)
        fault = self._rng.choice(self.faults)
        self.seen[fault] += 1
        return await _misbehave(fault, request, handler, self.stall_s)


async def _misbehave(
    fault: str, request: web.Request, handler: Handler, stall_s: float
) -> web.StreamResponse:
    await request.read()
    match fault:
        case "500_envelope":
            return web.Response(status=500, body=_envelope("INTERNAL_ERROR"), content_type="application/json")
        case "503_detail":
            detail = {"detail": orjson.loads(_envelope("SERVICE_UNAVAILABLE"))}
            return web.Response(status=503, body=orjson.dumps(detail), content_type="application/json")
        case "502_html":
            return web.Response(status=502, body=HTML, content_type="text/html")
        case "500_empty":
            return web.Response(status=500)
        case "error_in_200":
            return web.Response(body=_envelope("SERVICE_UNAVAILABLE"), content_type="application/json")
        case "html_200":
            return web.Response(body=HTML, content_type="text/html")
        case "wrong_shape":
            body = orjson.dumps({"success": True, "data": {"unexpected": True}})
            return web.Response(body=body, content_type="application/json")
        case "reset":
            if request.transport is not None:
                request.transport.abort()
            raise asyncio.CancelledError  # nothing more to say on a connection that is gone
        case "stall":
            await asyncio.sleep(stall_s)
            return await handler(request)
        case _:  # trickle
            return await _trickle(request, await handler(request), stall_s)


async def _trickle(request: web.Request, answer: web.StreamResponse, over_s: float) -> web.StreamResponse:
    body = answer.body if isinstance(answer, web.Response) and isinstance(answer.body, bytes) else b"{}"
    response = web.StreamResponse(status=answer.status, headers={"Content-Type": "application/json"})
    response.content_length = len(body)
    await response.prepare(request)
    pieces = 20
    step = max(1, len(body) // pieces)
    for start in range(0, len(body), step):
        await response.write(body[start : start + step])
        await asyncio.sleep(over_s / pieces)
    await response.write_eof()
    return response
