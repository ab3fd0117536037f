"""Typed keys for what the application holds."""

from __future__ import annotations

import weakref

import aiohttp
from aiohttp import web
from reactivex.scheduler.eventloop import AsyncIOScheduler

from orchestrator.pipeline import Services
from orchestrator.settings import Settings

SETTINGS = web.AppKey("settings", Settings)
HTTP_SESSION = web.AppKey("http_session", aiohttp.ClientSession)
SCHEDULER = web.AppKey("scheduler", AsyncIOScheduler)
SERVICES = web.AppKey("services", Services)
OPEN_STREAMS = web.AppKey("open_streams", weakref.WeakSet)
