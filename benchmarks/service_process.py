"""``python -m benchmarks.service_process``: the four services as a process of their own.

They are the fake services the tests use (``fakes/services.py``), answering with the realistic
bodies of ``fakes/realistic.py`` (serialized once, for ``--days`` trading days), after
``--delay`` seconds if given, with ``--faults`` of the calls misbehaving (``services.chaos``), and
with ``--huge`` megabytes for ``/prices`` if asked (a service that floods its caller). Two more
ways of misbehaving, for ``benchmarks.edges``: ``--stray SECONDS`` answers ``/prices`` and
``/dividends`` for the ticker asked and then, that long after, writes a second, unsolicited answer
(the prices of ticker POISON) on the same kept-alive connection; ``--gzip-bomb MIB`` answers
``/prices`` with gzip that inflates to that many MiB (about a kilobyte per MiB).
``GET /stats`` says how many calls each path received and which faults were served, so that a
benchmark can count the extra calls retries and hedges made. ``GET /in-flight`` says how many calls
are being answered right now: a handler whose caller hung up is cancelled (``handler_cancellation``)
and stops counting, so a benchmark sees when the orchestrator has let go of every call.
``GET /health`` answers at once.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import socket
import sys
import zlib
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from aiohttp import web

from fakes.realistic import TRADING_DAYS, Payloads
from fakes.services import fake_services, gzip_bomb
from orchestrator.cli.serve import tune_garbage_collection
from orchestrator.settings import Settings
from services.chaos import FAULTS, TRANSIENT, Chaos

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


#: The ticker of the unsolicited answer ``--stray`` writes, and its every price.
POISON, POISON_PRICE = "POISON", 666.0


def ticker_price(ticker: str) -> float:
    """Every price of ``ticker``'s bars under ``--stray``: its own, so an answer shows whose it is."""
    return 100.0 + zlib.crc32(ticker.encode()) % 500


def prices_of(prices: dict[str, Any], ticker: str, price: float) -> bytes:
    """The ``/prices`` answer ``prices`` (an envelope), as if for ``ticker``: every price ``price``,
    and ``metadata.asked`` saying whose it is (the orchestrator passes it on as ``data_source``)."""
    data = prices["data"]
    bars = [{**bar, "close": price, "adjusted_close": price} for bar in data["prices"]]
    metadata = {**data.get("metadata", {}), "asked": ticker}
    return orjson.dumps({**prices, "data": {**data, "ticker": ticker, "prices": bars, "metadata": metadata}})


def build(
    delay_s: float,
    faults: float,
    mix: tuple[str, ...],
    seed: int,
    stall_s: float = 30.0,
    huge_mb: int = 0,
    days: int = TRADING_DAYS,
    stray_s: float = 0.0,
    bomb_mib: int = 0,
) -> web.Application:
    calls: Counter[str] = Counter()
    in_flight = 0
    chaos = Chaos(rate=faults, faults=mix, seed=seed, stall_s=stall_s)

    @web.middleware
    async def count_and_wait(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.method == "POST":
            calls[request.path] += 1
            if delay_s:
                await asyncio.sleep(delay_s)
        return await handler(request)

    @web.middleware
    async def count_in_flight(request: web.Request, handler: Handler) -> web.StreamResponse:
        """Every call from its arrival to its answer, or to its cancellation by a caller gone."""
        nonlocal in_flight
        if request.method != "POST":
            return await handler(request)
        in_flight += 1
        try:
            return await handler(request)
        finally:
            in_flight -= 1

    async def in_flight_now(_request: web.Request) -> web.Response:
        return web.json_response({"in_flight": in_flight})

    async def stats(_request: web.Request) -> web.Response:
        return web.json_response({"calls": calls, "faults": chaos.seen})

    @web.middleware
    async def flood(request: web.Request, handler: Handler) -> web.StreamResponse:
        """``--huge MB``: /prices answers that many megabytes, streamed with no Content-Length."""
        if not huge_mb or request.path != "/prices":
            return await handler(request)
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        await response.prepare(request)
        chunk = b" " * (1024 * 1024)
        try:
            for _ in range(huge_mb):
                await response.write(chunk)
        except ConnectionError:
            pass  # the orchestrator stopped reading: as it should
        return response

    payloads = Payloads.build(days)
    by_ticker: dict[str, bytes] = {}
    stray = b""
    if stray_s:
        poison = prices_of(payloads.prices, POISON, POISON_PRICE)
        stray = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (
            len(poison),
            poison,
        )

    @web.middleware
    async def stray_answers(request: web.Request, handler: Handler) -> web.StreamResponse:
        """``--stray S``: /prices (and /dividends) answer for the ticker asked, and S seconds after
        each the connection gets a second answer nobody asked for."""
        if not stray_s or request.path not in ("/prices", "/dividends"):
            return await handler(request)
        ticker = orjson.loads(await request.read())["ticker"]
        key = f"{request.path}:{ticker}"
        if key not in by_ticker:
            if request.path == "/prices":
                by_ticker[key] = prices_of(payloads.prices, ticker, ticker_price(ticker))
            else:
                data = {**payloads.dividends["data"], "ticker": ticker}
                by_ticker[key] = orjson.dumps({**payloads.dividends, "data": data})
        transport = request.transport
        if transport is not None:
            asyncio.get_running_loop().call_later(stray_s, _write_unless_closed, transport, stray)
        return web.Response(body=by_ticker[key], content_type="application/json")

    bomb = gzip_bomb(bomb_mib) if bomb_mib else b""

    @web.middleware
    async def gzip_bombs(request: web.Request, handler: Handler) -> web.StreamResponse:
        """``--gzip-bomb MIB``: /prices answers gzip that inflates to MIB MiB."""
        if not bomb_mib or request.path != "/prices":
            return await handler(request)
        headers = {"Content-Type": "application/json", "Content-Encoding": "gzip"}
        return web.Response(body=bomb, headers=headers)

    middlewares = (count_in_flight, count_and_wait, chaos.middleware, flood, stray_answers, gzip_bombs)
    app = fake_services(middlewares=middlewares, answers=payloads.answerer())
    app.add_routes([web.get("/stats", stats), web.get("/in-flight", in_flight_now)])
    return app


def _write_unless_closed(transport: asyncio.BaseTransport, data: bytes) -> None:
    if isinstance(transport, asyncio.WriteTransport) and not transport.is_closing():
        transport.write(data)


def _listening(port: int) -> socket.socket:
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", port))
    return listener


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.service_process", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "--port",
        type=int,
        action="append",
        required=True,
        help="a port to listen on (give several: a host per service)",
    )
    parser.add_argument("--delay", type=float, default=0.0, metavar="SECONDS", help="before each answer")
    parser.add_argument("--faults", type=float, default=0.0, metavar="SHARE", help="of calls that misbehave")
    parser.add_argument(
        "--mix", default=",".join(TRANSIENT), help=f"faults to draw from (of {', '.join(FAULTS)})"
    )
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument(
        "--stall", type=float, default=30.0, metavar="SECONDS", help="of a stall or a trickle"
    )
    parser.add_argument("--days", type=int, default=TRADING_DAYS, help="trading days the answers cover")
    parser.add_argument("--huge", type=int, default=0, metavar="MB", help="answer /prices with this many MB")
    parser.add_argument(
        "--stray",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="answer /prices for the ticker asked, then write an unsolicited answer this long after",
    )
    parser.add_argument(
        "--gzip-bomb", type=int, default=0, metavar="MIB", help="answer /prices with gzip inflating to MIB"
    )
    args = parser.parse_args(argv)
    # A client that leaves mid-request (a hedge that lost, a backtest cut short) is no news here.
    logging.getLogger("aiohttp.server").setLevel(logging.CRITICAL)
    app = build(
        args.delay,
        args.faults,
        tuple(args.mix.split(",")),
        args.seed,
        args.stall,
        args.huge,
        args.days,
        args.stray,
        args.gzip_bomb,
    )
    tune_garbage_collection(Settings(_env_file=None).gc_thresholds)  # as the orchestrator does
    sockets = [_listening(port) for port in args.port]
    # A caller that hangs up cancels its handler (as the orchestrator's own server does): a call the
    # orchestrator abandoned stops here at once, instead of sleeping out its delay.
    web.run_app(
        app,
        sock=sockets,
        access_log=None,
        print=lambda *_: None,
        backlog=4096,
        handler_cancellation=True,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
