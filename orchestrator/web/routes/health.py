"""``GET /api/health`` (the services behind us, checked in parallel) and ``GET /health`` (liveness)."""

from __future__ import annotations

import asyncio

from aiohttp import web

from orchestrator.registry import SERVICES
from orchestrator.web.json_http import json_response
from orchestrator.web.keys import BACKTESTER, SETTINGS

routes = web.RouteTableDef()

CHECKED = tuple(entry for entry in SERVICES if entry.health_checked)


@routes.get("/api/health")
async def get_api_health(request: web.Request) -> web.Response:
    downstream, timeout_s = request.app[BACKTESTER].downstream, request.app[SETTINGS].health_timeout_s
    states = await asyncio.gather(
        *(downstream.service(entry.name).health(entry.health_path, timeout_s) for entry in CHECKED)
    )
    healthy = all(state == "healthy" for state in states)
    return json_response(
        {
            "status": "healthy" if healthy else "degraded",
            "services": {entry.name: state for entry, state in zip(CHECKED, states, strict=True)},
        },
        status=200 if healthy else 503,
    )


@routes.get("/health")
async def get_health(_request: web.Request) -> web.Response:
    """Liveness only: calls nothing."""
    return json_response({"status": "healthy", "service": "orchestrator"})
