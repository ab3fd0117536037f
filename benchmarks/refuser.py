"""``python -m benchmarks.refuser --port N``: a bare aiohttp server that refuses every request.

Each request is answered 503 with ``Retry-After`` at once, by aiohttp alone: no middleware, no
logging, no envelope. ``benchmarks.edges burst`` sends it the same burst as the orchestrator, so
the orchestrator's slowest refusal is read against what refusing costs aiohttp itself. It listens
with the orchestrator's default backlog (``EDGE__BACKLOG``), so the two differ only in the work.
"""

from __future__ import annotations

import argparse
import sys

from aiohttp import web

from orchestrator.limits import EdgeConfig

REFUSAL = b'{"success":false,"error":{"code":"SERVICE_UNAVAILABLE","message":"refused","details":{}}}'


async def refuse(_request: web.Request) -> web.Response:
    return web.Response(
        body=REFUSAL, status=503, content_type="application/json", headers={"Retry-After": "1"}
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.refuser", description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", refuse)
    web.run_app(
        app,
        host="127.0.0.1",
        port=args.port,
        access_log=None,
        print=lambda *_: None,
        backlog=EdgeConfig().backlog,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
