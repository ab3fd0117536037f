"""Typed keys for what the application holds."""

from __future__ import annotations

import weakref

import aiohttp
from aiohttp import web

from orchestrator.backtest.graph import Backtester
from orchestrator.settings import Settings

SETTINGS = web.AppKey("settings", Settings)
HTTP_SESSION = web.AppKey("http_session", aiohttp.ClientSession)
BACKTESTER = web.AppKey("backtester", Backtester)
OPEN_STREAMS = web.AppKey("open_streams", weakref.WeakSet)
