"""``GET /metrics``: the Prometheus text exposition (``orchestrator/metrics.py`` says what is in it)."""

from __future__ import annotations

from aiohttp import web
from prometheus_client.aiohttp import make_aiohttp_handler

from orchestrator import metrics


def routes() -> list[web.RouteDef]:
    """Built when the app is: in multiprocess mode it reads every worker's files."""
    return [web.get("/metrics", make_aiohttp_handler(metrics.registry()))]
