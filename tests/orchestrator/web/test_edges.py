"""The edge, tried as an attacker or a careless client would: each defect the hardening fixed.

Real sockets on loopback throughout; raw ones where a well-behaved client could not send the thing.
"""

from __future__ import annotations

import asyncio
import gzip
import os
import re
from typing import Any

import aiohttp
import orjson
import pytest

import fakes
from orchestrator.web.app import create_app
from tests.orchestrator.conftest import make_settings

#: The header deadline below the idle timeout, as by default: from aiohttp 3.14 on, aiohttp closes a
#: connection without a whole request at the idle timeout itself, unanswered.
FAST_EDGE = {
    "header_timeout_s": 0.5,
    "body_timeout_s": 0.5,
    "idle_timeout_s": 1.0,
    "max_connections_per_client": 20,
}


async def served(orchestrator_server: Any, **settings: Any) -> Any:
    return await orchestrator_server(create_app(make_settings(**settings)))


async def raw(server: Any, data: bytes, wait_s: float = 2.0) -> bytes:
    """Send ``data`` on a fresh connection; whatever comes back before the server closes it."""
    reader, writer = await asyncio.open_connection(server.host, server.port)
    writer.write(data)
    await writer.drain()
    try:
        return await asyncio.wait_for(reader.read(), wait_s)
    finally:
        writer.close()


def envelope_of(answer: bytes) -> tuple[int, dict[str, Any], bytes]:
    head, _, body = answer.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    assert b"content-type: application/json" in head.lower(), head
    return status, orjson.loads(body)["error"], head


# --- client mistakes that were answered 500 -----------------------------------------------------


async def test_a_preflight_from_an_origin_not_allowed_is_403_in_the_envelope(client):
    response = await client.options(
        "/api/backtest", headers={"Origin": "http://evil.example", "Access-Control-Request-Method": "POST"}
    )
    body = await response.json()
    assert (response.status, body["error"]["code"]) == (403, "FORBIDDEN")


async def test_the_static_directory_is_not_found_not_a_500(client):
    for path in ("/static/", "/static/../setup.cfg", "/static/missing.js"):
        response = await client.get(path)
        assert (response.status, (await response.json())["error"]["code"]) == (404, "NOT_FOUND"), path


async def test_a_compressed_body_is_refused_unread(client, services):
    not_gzip = b"this is not gzip at all"
    response = await client.post(
        "/api/backtest",
        data=not_gzip,
        headers={"Content-Type": "application/json", "Content-Encoding": "gzip"},
    )
    assert (response.status, (await response.json())["error"]["code"]) == (415, "UNSUPPORTED_MEDIA_TYPE")


async def test_a_config_nested_deep_is_a_400_not_a_500(client, services):
    config: dict[str, Any] = {}
    for _ in range(250):
        config = {"x": config}
    response = await client.post("/api/backtest", json=fakes.backtest_request(strategy_params__config=config))
    error = (await response.json())["error"]
    assert (response.status, error["code"]) == (400, "INVALID_REQUEST")
    assert "nested deeper" in error["message"]


async def test_a_body_with_too_many_values_is_a_400(client, services):
    config = {f"k{i}": i for i in range(2500)}
    response = await client.post("/api/backtest", json=fakes.backtest_request(strategy_params__config=config))
    assert (response.status, (await response.json())["error"]["code"]) == (400, "INVALID_REQUEST")


# --- compression bombs ---------------------------------------------------------------------------


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS:")) / 1024


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="reads memory from /proc")
async def test_thirty_compression_bombs_at_once_leave_memory_flat(client, services):
    bomb = gzip.compress(b" " * (64 * 1024 * 1024), compresslevel=9)  # 64 MB of spaces in about 65 KB
    headers = {"Content-Type": "application/json", "Content-Encoding": "gzip"}
    before = rss_mb()
    answers = await asyncio.gather(
        *(client.post("/api/backtest", data=bomb, headers=headers) for _ in range(30))
    )
    assert {answer.status for answer in answers} == {415}
    assert rss_mb() - before < 50


# --- slow, idle and greedy clients ---------------------------------------------------------------


async def test_headers_that_never_finish_are_cut_off_with_408(orchestrator_server):
    server = await served(orchestrator_server, edge=FAST_EDGE)
    began = asyncio.get_running_loop().time()
    answer = await raw(server, b"GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: ")
    status, error, _ = envelope_of(answer)
    assert (status, error["code"]) == (408, "REQUEST_TIMEOUT")
    assert asyncio.get_running_loop().time() - began < 1.5


async def test_a_connection_that_sends_nothing_is_closed(orchestrator_server):
    server = await served(orchestrator_server, edge=FAST_EDGE)
    answer = await raw(server, b"")
    assert envelope_of(answer)[0] == 408


async def test_a_trickled_body_is_cut_off_with_408_while_others_are_served(orchestrator_server, client_for):
    server = await served(orchestrator_server, edge=FAST_EDGE)
    head = b"POST /api/backtest HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
    head += b"Content-Length: 1000\r\n\r\n{"
    slow = asyncio.create_task(raw(server, head, wait_s=3))
    await asyncio.sleep(0.1)
    reader, writer = await asyncio.open_connection(server.host, server.port)
    writer.write(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
    assert b"200 OK" in await asyncio.wait_for(reader.readline(), 1)  # served meanwhile
    writer.close()
    status, error, _ = envelope_of(await slow)
    assert (status, error["code"]) == (408, "REQUEST_TIMEOUT")


async def test_an_idle_keep_alive_connection_is_closed(orchestrator_server):
    server = await served(orchestrator_server, edge=FAST_EDGE)
    reader, writer = await asyncio.open_connection(server.host, server.port)
    writer.write(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
    assert b"200 OK" in await reader.readline()
    rest = await asyncio.wait_for(reader.read(), 3)  # then nothing, until the server closes it
    head, body = rest.split(b"\r\n\r\n")
    assert int(re.search(rb"Content-Length: (\d+)", head)[1]) == len(body)  # the answer, nothing more
    writer.close()


Connection = tuple[asyncio.StreamReader, asyncio.StreamWriter]


async def held(server: Any, count: int, source: str = "127.0.0.1") -> list[Connection]:
    """``count`` connections from ``source``, each with a request already answered 200 (so every
    one is counted before the next step), left open."""
    connections = []
    for _ in range(count):
        reader, writer = await asyncio.open_connection(server.host, server.port, local_addr=(source, 0))
        assert await served_on((reader, writer))
        connections.append((reader, writer))
    return connections


async def served_on(connection: Connection) -> bool:
    """Whether a ``/health`` sent on this kept-alive connection is answered 200 (its body read)."""
    reader, writer = connection
    writer.write(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
    head = await reader.readuntil(b"\r\n\r\n")
    length = int(
        next(line for line in head.lower().split(b"\r\n") if line.startswith(b"content-length"))[15:]
    )
    await reader.readexactly(length)
    return head.startswith(b"HTTP/1.1 200 ")


def close_all(connections: list[Connection]) -> None:
    for _, writer in connections:
        writer.close()


async def test_a_connection_past_the_cap_is_answered_503_with_retry_after_then_closed(orchestrator_server):
    server = await served(orchestrator_server, edge={**FAST_EDGE, "max_connections_per_client": 5})
    connections = await held(server, 5)
    answer = await raw(server, b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")  # whole, then end of stream
    status, error, head = envelope_of(answer)
    assert (status, error["code"], error["details"]["client_limit"]) == (503, "SERVICE_UNAVAILABLE", 5)
    assert b"retry-after: 1\r\n" in head.lower() and b"connection: close" in head.lower()
    close_all(connections)


async def test_a_backtest_past_the_cap_is_answered_though_its_body_is_never_read(orchestrator_server):
    server = await served(orchestrator_server, edge={**FAST_EDGE, "max_connections_per_client": 1})
    connections = await held(server, 1)
    body = orjson.dumps(fakes.backtest_request())
    head = b"POST /api/backtest HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
    status, error, _ = envelope_of(await raw(server, head + b"Content-Length: %d\r\n\r\n" % len(body) + body))
    assert (status, error["details"]["counted"]) == (503, "connections")
    close_all(connections)


async def test_the_connections_under_the_cap_are_still_served(orchestrator_server):
    server = await served(orchestrator_server, edge={**FAST_EDGE, "max_connections_per_client": 2})
    connections = await held(server, 2)
    assert envelope_of(await raw(server, b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n"))[0] == 503
    assert all([await served_on(connection) for connection in connections])
    close_all(connections)


async def test_another_address_is_not_held_to_the_first_one_s_cap(orchestrator_server):
    server = await served(orchestrator_server, edge={**FAST_EDGE, "max_connections_per_client": 2})
    connections = await held(server, 2, source="127.0.0.1")
    others = await held(server, 2, source="127.0.0.2")  # each answered 200 (see held)
    close_all(connections + others)


async def test_the_cap_frees_as_connections_close(orchestrator_server):
    server = await served(orchestrator_server, edge={**FAST_EDGE, "max_connections_per_client": 2})
    first, second = await held(server, 2)
    first[1].close()
    await first[1].wait_closed()
    await asyncio.sleep(0.05)  # the server sees the close
    close_all([second, *await held(server, 1)])  # the new one answered 200 (see held)


async def test_a_connection_past_the_cap_that_sends_no_request_is_closed_after_the_short_deadline(
    orchestrator_server,
):
    edge = {**FAST_EDGE, "header_timeout_s": 30, "over_cap_timeout_s": 0.2, "max_connections_per_client": 1}
    server = await served(orchestrator_server, edge=edge)
    connections = await held(server, 1)
    began = asyncio.get_running_loop().time()
    status, error, _ = envelope_of(await raw(server, b"GET /health HTTP/1.1\r\nHost: x\r\n", wait_s=5))
    assert (status, error["code"]) == (408, "REQUEST_TIMEOUT")
    assert asyncio.get_running_loop().time() - began < 5  # its deadline, not the header timeout's 30 s
    close_all(connections)


async def test_short_of_file_descriptors_a_connection_past_the_cap_is_closed_at_once(orchestrator_server):
    # every descriptor "spare": the process is always short, as if its table were nearly full
    edge = {**FAST_EDGE, "max_connections_per_client": 1, "spare_descriptors": 1_000_000}
    server = await served(orchestrator_server, edge=edge)
    connections = await held(server, 1)
    reader, writer = await asyncio.open_connection(server.host, server.port)
    assert await _closed(reader, wait_s=1)  # closed, nothing read, nothing answered
    close_all([*connections, (reader, writer)])


async def test_a_burst_from_one_address_is_answered_every_time(orchestrator_server):
    server = await served(orchestrator_server, edge={**FAST_EDGE, "max_connections_per_client": 5})
    connector = aiohttp.TCPConnector(limit=0, force_close=True)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def ask() -> int:
            async with session.get(f"http://{server.host}:{server.port}/health") as answer:
                await answer.read()
                return answer.status

        statuses = await asyncio.gather(*(ask() for _ in range(60)))  # a connection error would raise
    assert set(statuses) <= {200, 503} and 503 in statuses


async def _closed(reader: asyncio.StreamReader, wait_s: float = 0.05) -> bool:
    try:
        return await asyncio.wait_for(reader.read(1), wait_s) == b""
    except TimeoutError:
        return False


async def test_a_declared_gigabyte_body_is_refused_before_it_is_sent(orchestrator_server):
    server = await served(orchestrator_server)
    head = b"POST /api/backtest HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
    head += b"Content-Length: 1073741824\r\n\r\n"
    status, error, _ = envelope_of(await raw(server, head))
    assert (status, error["code"]) == (413, "PAYLOAD_TOO_LARGE")


# --- what the parser rejects ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("request_bytes", "status", "code"),
    [
        (b"GE\x00T /secret-input HTTP/1.1\r\nHost: x\r\n\r\n", 400, "INVALID_REQUEST"),
        (
            b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 10_000 + b"\r\n\r\n",
            431,
            "HEADERS_TOO_LARGE",
        ),
        (b"GET /" + b"p" * 10_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 431, "HEADERS_TOO_LARGE"),
        (
            b"GET /health HTTP/1.1\r\n" + b"".join(b"X-%d: y\r\n" % i for i in range(200)) + b"\r\n",
            431,
            "HEADERS_TOO_LARGE",
        ),
        (b"NOT HTTP AT ALL secret-input\r\n\r\n", 400, "INVALID_REQUEST"),
    ],
    ids=["nul-in-method", "header-too-long", "line-too-long", "too-many-headers", "garbage"],
)
async def test_what_the_parser_rejects_is_the_envelope_and_quotes_nothing_back(
    orchestrator_server, request_bytes, status, code
):
    server = await served(orchestrator_server)
    answered, error, head = envelope_of(await raw(server, request_bytes))
    assert (answered, error["code"]) == (status, code)
    assert b"secret-input" not in head + orjson.dumps(error) and b"aaaaaaaa" not in orjson.dumps(error)


# --- unbounded work and quiet answers ------------------------------------------------------------


async def test_a_date_range_of_millennia_is_refused(client, services):
    request = fakes.backtest_request(
        market_params__start_date="0001-01-01", market_params__end_date="9999-12-31"
    )
    response = await client.post("/api/backtest", json=request)
    error = (await response.json())["error"]
    assert (response.status, error["code"], error["details"]["max_days"]) == (
        400,
        "INVALID_DATE_RANGE",
        18_263,
    )


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("portfolio_params__transaction_cost_pct", 1e300),
        ("portfolio_params__cash_interest_rate_pct", 1000.0),
        ("portfolio_params__initial_capital", 1e20),
        ("baseline_params__initial_capital", 1e13),
    ],
)
async def test_numbers_past_sane_bounds_are_refused(client, services, field, value):
    response = await client.post("/api/backtest", json=fakes.backtest_request(**{field: value}))
    error = (await response.json())["error"]
    assert (response.status, error["code"]) == (400, "INVALID_REQUEST")
    assert [problem["field"] for problem in error["details"]["errors"]] == [field.replace("__", ".")]


async def test_the_server_header_names_no_version(client):
    response = await client.get("/health")
    assert response.headers["Server"] == "orchestrator"


async def test_validation_messages_name_no_python_class(client, services):
    body = {"market_params": 5, "strategy_params": [], "portfolio_params": "x", "baseline_params": None}
    response = await client.post("/api/backtest", json=body)
    text = await response.text()
    for word in ("MarketParams", "StrategyParams", "PortfolioParams", "BaselineParams", "instance", "dict"):
        assert word not in text


async def test_a_missing_static_file_is_logged_with_its_real_status(client, monkeypatch, tmp_path):
    from structlog.testing import capture_logs

    from orchestrator.web.routes import page

    monkeypatch.setitem(page.FILES, "vanished.js", tmp_path / "vanished.js")  # there at start, gone since
    with capture_logs() as logs:
        for name in ("gone.js", "vanished.js"):
            response = await client.get(f"/static/{name}")
            assert response.status == 404
    assert [entry["status"] for entry in logs if entry.get("path", "").startswith("/static/")] == [404, 404]
