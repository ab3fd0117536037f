"""``GET /api/openapi.json``: the API's OpenAPI 3.1 description (``web/openapi/``), and
``GET /api/docs``: Swagger UI over it.

The document is made when the app factory asks for these routes, with the bounds this server's
settings put on a request (kept, one per distinct settings). The page is ours, a few lines of HTML
as swagger-ui-dist's own ``index.html`` (Swagger UI 5, which renders OpenAPI 3.1), pointed at the
document. The three files it loads are swagger-ui-dist's, vendored unchanged in ``web/swagger-ui/``
(its README says which release, from where, and how to update them; its LICENSE and NOTICE are
beside them) and served from there by name from a fixed list: no CDN, nothing fetched from
elsewhere (the online validator badge is off), no directory to browse.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from aiohttp import web

from orchestrator.errors import NotFound
from orchestrator.limits import RequestLimits
from orchestrator.settings import Settings
from orchestrator.web import openapi
from orchestrator.web.json_http import dump, json_response

DOCS = "/api/docs"
OPENAPI = "/api/openapi.json"
#: The release of swagger-ui-dist vendored in ``ASSETS_DIR`` (its bundle says the same).
SWAGGER_UI = "5.36.0"
ASSETS_DIR = Path(__file__).resolve().parent.parent / "swagger-ui"
#: The files the page loads, with their media types: the vendored ones, and no others.
ASSETS = {
    "swagger-ui.css": "text/css",
    "swagger-ui-bundle.js": "text/javascript",
    "swagger-ui-standalone-preset.js": "text/javascript",
}

#: swagger-ui-dist's ``index.html`` with its ``index.css`` inline and its initializer's options:
#: no online validator (its badge is an image from elsewhere), "Try it out" open.
PAGE = f"""<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="UTF-8">
  <title>Backtest orchestrator API</title>
  <link rel="stylesheet" type="text/css" href="{DOCS}/static/swagger-ui.css">
  <style>
    html {{ box-sizing: border-box; overflow-y: scroll; }}
    *, *:before, *:after {{ box-sizing: inherit; }}
    body {{ margin: 0; background: #fafafa; }}
  </style>
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="{DOCS}/static/swagger-ui-bundle.js" charset="UTF-8"></script>
  <script src="{DOCS}/static/swagger-ui-standalone-preset.js" charset="UTF-8"></script>
  <script>
    window.onload = function () {{
      window.ui = SwaggerUIBundle({{
        url: "{OPENAPI}",
        dom_id: "#swagger-ui",
        deepLinking: true,
        displayRequestDuration: true,
        tryItOutEnabled: true,
        validatorUrl: null,
        presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
        plugins: [SwaggerUIBundle.plugins.DownloadUrl],
        layout: "StandaloneLayout",
      }});
    }};
  </script>
</body>
</html>
"""


@lru_cache(maxsize=8)
def document(limits: RequestLimits, max_strategies: int, modes: tuple[str, ...] = ()) -> bytes:
    """The document's bytes, for a server with these settings."""
    return dump(openapi.document(limits, max_strategies, tuple(ASSETS), modes))


def routes(settings: Settings) -> list[web.RouteDef]:
    """The document's route (its bytes made now, for this server's settings), the page's and its files'."""
    body = document(settings.request_limits, settings.compare.max_strategies, settings.auth.mode)

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
