"""Typed keys for what the application holds."""

from __future__ import annotations

import aiohttp
from aiohttp import web

from orchestrator.backtest.admission import Admission
from orchestrator.backtest.graph import Backtester
from orchestrator.clients.transport import AiohttpTransport
from orchestrator.settings import Settings

SETTINGS = web.AppKey("settings", Settings)
#: One pooled session per service (its pool sized to its bulkhead), and one for health checks.
HTTP_SESSIONS = web.AppKey("http_sessions", dict[str, aiohttp.ClientSession])
HEALTH_TRANSPORT = web.AppKey("health_transport", AiohttpTransport)
BACKTESTER = web.AppKey("backtester", Backtester)
ADMISSION = web.AppKey("admission", Admission)
