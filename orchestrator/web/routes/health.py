"""Three views of health, for three askers.

- ``GET /ready`` (readiness, for a load balancer): whether THIS process takes backtests now. It asks
  nothing of the services behind us: when one is down every replica answers the contract's 503
  envelope naming it, and taking every replica out of rotation would turn those answers into
  connection errors.
- ``GET /api/health`` (for people and monitoring): the services behind us, checked in parallel,
  each circuit, and each service's effective policy. It reads the circuits and changes none: an
  open breaker past its cool-down still reads ``open``; the next call is what moves it.
- ``GET /health`` (liveness): the process answers; nothing is called. It says which build answers
  (version, and commit where known), so a rollout can be watched replica by replica.
"""

from __future__ import annotations

import asyncio

from aiohttp import web

from orchestrator.build_info import build_info
from orchestrator.clients.health import check_health
from orchestrator.registry import SERVICES
from orchestrator.web.json_http import json_response
from orchestrator.web.keys import ADMISSION, BACKTESTER, HEALTH_TRANSPORT, SETTINGS
from orchestrator.web.trace_context import TRACE

routes = web.RouteTableDef()

CHECKED = tuple(entry for entry in SERVICES if entry.health_checked)


@routes.get("/api/health")
async def get_api_health(request: web.Request) -> web.Response:
    app = request.app
    downstream = app[BACKTESTER].downstream
    clients = downstream.services()
    circuits = {client.name: client.policy.breaker.state for client in clients}
    policies = {client.name: client.policy.config.model_dump() for client in clients}
    if app[ADMISSION].draining:  # stop sending us work: we are on our way out
        body = {"status": "draining", "services": {}, "circuits": circuits, "policies": policies}
        return json_response(body, status=503)
    transport, timeout_s = app[HEALTH_TRANSPORT], app[SETTINGS].health_timeout_s
    states = await asyncio.gather(
        *(
            check_health(
                transport,
                downstream.service(entry.name).base_url + entry.health_path,
                timeout_s,
                downstream.scheduler,
                request[TRACE],
            )
            for entry in CHECKED
        )
    )
    healthy = all(state == "healthy" for state in states)
    return json_response(
        {
            "status": "healthy" if healthy else "degraded",
            "services": {entry.name: state for entry, state in zip(CHECKED, states, strict=True)},
            "circuits": circuits,
            "policies": policies,
        },
        status=200 if healthy else 503,
    )


@routes.get("/ready")
async def get_ready(request: web.Request) -> web.Response:
    """Readiness: 200 ``ready`` unless draining or at the admission limit (503), from what this
    process knows; it calls nothing. Started is implied: aiohttp runs the startup hooks (sessions,
    clients, cache) before it accepts the first connection. Saturated is a moment, not a fault:
    probes that keep finding it take the pod out of rotation until one finds a slot free again."""
    gate = request.app[ADMISSION]
    in_flight, limit = gate.limit.in_flight, gate.limit.limit
    if gate.draining:
        status = "draining"
    elif in_flight >= limit:
        status = "saturated"
    else:
        status = "ready"
    body = {"status": status, "in_flight": in_flight, "limit": limit}
    return json_response(body, status=200 if status == "ready" else 503)


@routes.get("/health")
async def get_health(_request: web.Request) -> web.Response:
    """Liveness only: calls nothing. The build is read at each answer (an environment lookup):
    nothing to keep in the app for it."""
    build = build_info()
    return json_response(
        {"status": "healthy", "service": "orchestrator", "version": build.version, "commit": build.commit}
    )
