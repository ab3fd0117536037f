"""``python -m benchmarks.compression``: what asking services for gzip would cost, against identity.

The orchestrator asks its services for uncompressed answers (``clients/transport.service_session``):
the other way to cap what an answer may inflate to would be to inflate it ourselves, counting. This
measures what compression itself costs, for the largest common answer: twenty years of daily prices
(5,040 bars). One process serves it over real loopback and reads it back with aiohttp, in
interleaved rounds, two ways:

* ``identity``: the service sends the bytes it has; the reader reads them (what the orchestrator
  does);
* ``gzip``: the service compresses each answer at level 6 (zlib's default; nginx's
  ``gzip_comp_level`` defaults to 1, starlette's GZipMiddleware to 9) and the reader inflates it
  (what aiohttp does when it asks for gzip).

Both sides are in this one process, so CPU per answer is the service's and the reader's together;
compressing and inflating alone are timed apart, in the same process, to split it.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import statistics
import sys
import time
import zlib

import aiohttp
import orjson
from aiohttp import web

from fakes.realistic import LONG_TRADING_DAYS, Payloads

LEVEL = 6


def server(body: bytes) -> web.Application:
    async def identity(_request: web.Request) -> web.Response:
        return web.Response(body=body, content_type="application/json")

    async def compressed(_request: web.Request) -> web.Response:
        headers = {"Content-Type": "application/json", "Content-Encoding": "gzip"}
        return web.Response(body=gzip.compress(body, LEVEL), headers=headers)

    app = web.Application()
    app.router.add_post("/identity", identity)
    app.router.add_post("/gzip", compressed)
    return app


async def round_of(session: aiohttp.ClientSession, url: str, answers: int) -> float:
    """CPU µs per answer, over ``answers`` answers read one after another."""
    began = time.process_time()
    for _ in range(answers):
        async with session.post(url, data=b"{}") as answer:
            await answer.read()
    return (time.process_time() - began) / answers * 1e6


def alone(work: object, times: int) -> float:
    """CPU µs per call of ``work`` (a callable)."""
    began = time.process_time()
    for _ in range(times):
        work()  # type: ignore[operator]
    return (time.process_time() - began) / times * 1e6


async def measure(answers: int = 100, rounds: int = 7, days: int = LONG_TRADING_DAYS) -> list[str]:
    body = orjson.dumps(Payloads.build(days).prices)
    packed = gzip.compress(body, LEVEL)
    runner = web.AppRunner(server(body), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    plain = aiohttp.ClientSession(headers={"Accept-Encoding": "identity"}, auto_decompress=False)
    inflating = aiohttp.ClientSession()  # asks for gzip, inflates: aiohttp's defaults
    try:
        for session, path in ((plain, "/identity"), (inflating, "/gzip")):  # connections warm
            await round_of(session, f"http://127.0.0.1:{port}{path}", 5)
        figures: dict[str, list[float]] = {"identity": [], "gzip": []}
        for _ in range(rounds):
            figures["identity"].append(await round_of(plain, f"http://127.0.0.1:{port}/identity", answers))
            figures["gzip"].append(await round_of(inflating, f"http://127.0.0.1:{port}/gzip", answers))
    finally:
        await plain.close()
        await inflating.close()
        await runner.cleanup()
    identity, compressed = (statistics.median(figures[name]) for name in ("identity", "gzip"))
    deflating = alone(lambda: gzip.compress(body, LEVEL), answers)
    inflating_alone = alone(lambda: zlib.decompress(packed, 16 + zlib.MAX_WBITS), answers)
    return [
        f"compression: {days} daily bars ({len(body) / 1024:.0f} KB, {len(packed) / 1024:.0f} KB gzipped at "
        f"level {LEVEL}), served and read over loopback in one process; CPU µs per answer, median of "
        f"{rounds} interleaved rounds of {answers}",
        f"   identity (service sends, reader reads)         {identity:8.0f}",
        f"   gzip (service compresses, reader inflates)     {compressed:8.0f}   {compressed / identity:.1f}x",
        f"   of which compressing alone                     {deflating:8.0f}",
        f"   of which inflating alone (the reader's share)  {inflating_alone:8.0f}",
        f"   bytes on the wire saved per answer             {(len(body) - len(packed)) / 1024:8.0f} KB",
    ]


def parser() -> argparse.ArgumentParser:
    """The command line (tests/test_docs.py parses every command the docs give with it)."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.compression", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--answers", type=int, default=100, help="answers per round and way")
    parser.add_argument("--rounds", type=int, default=7)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    print(*asyncio.run(measure(args.answers, args.rounds)), sep="\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
