"""``GET /api/openapi.json``: the API's OpenAPI 3.1 description (``web/openapi/``), and
``GET /api/docs``: Swagger UI over it.

The document is made when the app factory asks for these routes, with the bounds this server's
settings put on a request (kept, one per distinct settings). The page, made once, is the
swagger-ui-py package's own (Swagger UI 5, which renders OpenAPI 3.1), and every file it loads is
served from that package's directory here, by name from a fixed list: no CDN, nothing fetched from
elsewhere (its online validator badge is off), no directory to browse.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import swagger_ui
from aiohttp import web
from swagger_ui.core import ApplicationDocument

from orchestrator.errors import NotFound
from orchestrator.limits import RequestLimits
from orchestrator.settings import Settings
from orchestrator.web import openapi
from orchestrator.web.json_http import dump, json_response

DOCS = "/api/docs"
OPENAPI = "/api/openapi.json"
ASSETS_DIR = Path(swagger_ui.__file__).resolve().parent / "static"
#: The files the page loads, with their media types.
ASSETS = {
    "swagger-ui.css": "text/css",
    "index.css": "text/css",
    "swagger-ui-bundle.js": "text/javascript",
    "swagger-ui-standalone-preset.js": "text/javascript",
    "favicon-32x32.png": "image/png",
    "favicon-16x16.png": "image/png",
}


@lru_cache(maxsize=8)
def document(limits: RequestLimits, max_strategies: int) -> bytes:
    """The document's bytes, for a server with these settings."""
    return dump(openapi.document(limits, max_strategies, tuple(ASSETS)))


def _page() -> str:
    """swagger-ui-py's page, its assets under ``/api/docs/static/``, pointed at our document."""
    page = ApplicationDocument(
        None,
        config_spec="{}",  # not read: the page is pointed at OPENAPI below
        url_prefix=DOCS,
        title="Backtest orchestrator API",
        # JavaScript values: no online validator (its badge is an image from elsewhere)
        parameters={"validatorUrl": "null", "tryItOutEnabled": "true"},
    )
    page.parameters["url"] = f'"{OPENAPI}"'
    return page.doc_html


PAGE = _page()


def routes(settings: Settings) -> list[web.RouteDef]:
    """The document's route (its bytes made now, for this server's settings), the page's and its files'."""
    body = document(settings.request_limits, settings.compare.max_strategies)

    async def get_openapi(_request: web.Request) -> web.Response:
        return json_response(body)

    return [
        web.get(OPENAPI, get_openapi),
        web.get(DOCS, get_docs),
        web.get(DOCS + "/static/{name}", get_docs_asset),
    ]


async def get_docs(_request: web.Request) -> web.Response:
    return web.Response(text=PAGE, content_type="text/html")


async def get_docs_asset(request: web.Request) -> web.FileResponse:
    name = request.match_info["name"]
    if name not in ASSETS:
        raise NotFound("No such file", {})
    return web.FileResponse(ASSETS_DIR / name, headers={"Content-Type": ASSETS[name]})
