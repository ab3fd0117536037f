"""The page at ``/``: static HTML, CSS and JavaScript shipped in the package.

Only the files that are there when the application starts are served, by name: no directory
listing, no path to resolve, and anything else (a file gone since) is the envelope's NOT_FOUND,
decided before the answer starts, so the canonical line logs the status really sent.
"""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from orchestrator.errors import NotFound

STATIC = Path(__file__).resolve().parent.parent / "static"
FILES = {path.name: path for path in STATIC.iterdir() if path.is_file()}

routes = web.RouteTableDef()


@routes.get("/")
async def index(_request: web.Request) -> web.FileResponse:
    return web.FileResponse(FILES["index.html"])


@routes.get("/static/{name}")
async def static_file(request: web.Request) -> web.FileResponse:
    path = FILES.get(request.match_info["name"])
    if path is None or not path.is_file():  # checked here, so the canonical line has the real status
        raise NotFound("No such file", {})
    return web.FileResponse(path)
