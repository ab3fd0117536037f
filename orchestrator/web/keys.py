"""Typed keys for what the application holds, and the maker of the keys of what a request holds."""

from __future__ import annotations

from typing import Any

import aiohttp
from aiohttp import web

from orchestrator.backtest.admission import Admission
from orchestrator.backtest.graph import Backtester
from orchestrator.clients.transport import Transport
from orchestrator.jobs.service import Jobs
from orchestrator.settings import Settings
from orchestrator.span_export import SpanExport

SETTINGS = web.AppKey("settings", Settings)
#: One pooled session per service (its pool sized to its bulkhead), and one for health checks.
HTTP_SESSIONS = web.AppKey("http_sessions", dict[str, aiohttp.ClientSession])
#: How each service is reached, by name: over its session, or through the transport ``create_app`` was given.
SERVICE_TRANSPORTS = web.AppKey("service_transports", dict[str, Transport])
#: How health checks reach the services: over the health session, or through the transport given.
HEALTH_TRANSPORT = web.AppKey("health_transport", Transport)
BACKTESTER = web.AppKey("backtester", Backtester)
ADMISSION = web.AppKey("admission", Admission)
#: The jobs (``orchestrator/jobs/``): their store, their queue and this process's worker.
JOBS = web.AppKey("jobs", Jobs)
#: Where each request's span goes (``TRACING__EXPORT``): nowhere, or over OTLP/HTTP.
SPAN_EXPORT = web.AppKey("span_export", SpanExport)


def request_key(name: str, kind: type[Any]) -> Any:
    """A key for what each request holds: a ``web.RequestKey`` where aiohttp has them (3.14 on, which
    warns about a plain string), else the name itself."""
    make = getattr(web, "RequestKey", None)
    return name if make is None else make(name, kind)
