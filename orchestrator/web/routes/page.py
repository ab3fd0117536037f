"""The page at ``/``: static HTML, CSS and JavaScript shipped in the package."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

STATIC = Path(__file__).resolve().parent.parent / "static"

routes = web.RouteTableDef()


@routes.get("/")
async def index(_request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC / "index.html")


routes.static("/static", STATIC)
