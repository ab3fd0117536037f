"""The orchestrator's own server (``web/server.py``): the edge for its application, and for nothing else.

Ours and a plain aiohttp server run side by side in this process: ours answers with the edge's
deadline, cap and envelope; the plain one behaves as aiohttp does without us.
"""

from __future__ import annotations

import ast
import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web, web_server

from orchestrator.web import server
from orchestrator.web.app import create_app
from orchestrator.web.protocol import EdgeRequestHandler
from tests.orchestrator.conftest import make_settings

EDGE = {"header_timeout_s": 0.5, "max_connections_per_client": 1, "over_cap_timeout_s": 0.5}
ROOT = Path(__file__).resolve().parents[3]


async def hello(_request: web.Request) -> web.Response:
    return web.Response(text="hello")


@pytest.fixture
async def side_by_side(orchestrator_server: Any) -> AsyncIterator[tuple[Any, web.AppRunner]]:
    """Ours (the edge tight: 0.5 s for the headers, one connection per address) and a plain aiohttp
    server, started after ours, in the same process."""
    ours = await orchestrator_server(create_app(make_settings(edge=EDGE)))
    plain_app = web.Application()
    plain_app.router.add_get("/health", hello)
    plain = web.AppRunner(plain_app)
    await plain.setup()
    await web.TCPSite(plain, "127.0.0.1", 0).start()
    yield ours, plain
    await plain.cleanup()


def port_of(runner: web.AppRunner) -> int:
    port: int = runner.addresses[0][1]
    return port


async def exchange(port: int, data: bytes, wait_s: float = 2.0) -> bytes:
    """``data`` sent on a fresh connection; what comes back until the server closes it or ``wait_s``."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(data)
    try:
        return await asyncio.wait_for(reader.read(), wait_s)
    except TimeoutError:
        return b"still open"
    finally:
        writer.close()


async def test_a_plain_server_beside_ours_has_no_header_deadline(side_by_side):
    ours, plain = side_by_side
    half = b"GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: "
    answers = await asyncio.gather(exchange(ours.port, half), exchange(port_of(plain), half))
    assert answers[0].startswith(b"HTTP/1.1 408 ")
    assert answers[1] == b"still open"  # aiohttp waits for the headers as long as they take


async def test_a_plain_server_beside_ours_has_no_connection_cap(side_by_side):
    ours, plain = side_by_side
    statuses = {}
    for name, port in (("ours", ours.port), ("plain", port_of(plain))):
        connector = aiohttp.TCPConnector(limit=0, force_close=True)
        async with aiohttp.ClientSession(connector=connector) as session:
            held = [await asyncio.open_connection("127.0.0.1", port) for _ in range(2)]
            async with session.get(f"http://127.0.0.1:{port}/health") as answer:
                statuses[name] = answer.status
            for _, writer in held:
                writer.close()
    assert statuses == {"ours": 503, "plain": 200}


async def test_a_plain_server_beside_ours_answers_the_parsers_errors_in_its_own_words(side_by_side):
    ours, plain = side_by_side
    garbage = b"NOT HTTP AT ALL\r\n\r\n"
    answers = await asyncio.gather(exchange(ours.port, garbage), exchange(port_of(plain), garbage))
    assert b"application/json" in answers[0] and b'"success":false' in answers[0]
    assert b"text/plain" in answers[1] and b"success" not in answers[1]


async def test_only_our_server_makes_the_edges_handler(side_by_side):
    ours, plain = side_by_side
    assert isinstance(ours.runner.server, server.EdgeServer)
    assert type(ours.runner.server()) is EdgeRequestHandler
    assert type(plain.server) is web.Server and type(plain.server()) is web.RequestHandler
    assert web_server.RequestHandler is web.RequestHandler  # aiohttp's own name, as aiohttp left it


async def test_the_server_counts_each_address_s_connections_and_forgets_closed_ones(side_by_side):
    ours, _ = side_by_side
    _, writer = await asyncio.open_connection("127.0.0.1", ours.port)
    await asyncio.sleep(0.05)
    assert ours.runner.server.clients == {"127.0.0.1": 1}
    writer.close()
    await asyncio.sleep(0.05)
    assert ours.runner.server.clients == {}


async def test_the_runner_takes_the_edge_from_the_applications_settings():
    app = create_app(make_settings(edge={"header_timeout_s": 2.5}))
    runner = server.runner(app)
    await runner.setup()
    try:
        assert runner.server.edge.header_timeout_s == 2.5
        assert runner.server.handler_cancellation is True
    finally:
        await runner.cleanup()


# --- no patching: nothing of aiohttp rebound, anywhere ---------------------------------------------


def sources() -> Iterator[Path]:
    for folder in ("orchestrator", "streams", "services", "tests", "benchmarks"):
        yield from (ROOT / folder).rglob("*.py")


def aiohttp_names(tree: ast.Module) -> set[str]:
    """The names a module binds to aiohttp or anything imported from it."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {(a.asname or a.name).split(".")[0] for a in node.names if a.name.startswith("aiohttp")}
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("aiohttp"):
            names |= {a.asname or a.name for a in node.names}
    return names


def root_name(node: ast.expr) -> str | None:
    while isinstance(node, ast.Attribute):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def rebindings(path: Path) -> list[str]:
    """Each assignment to an attribute of aiohttp (or of what came from it), and each ``setattr``
    on one, in the file at ``path``."""
    tree = ast.parse(path.read_text(), str(path))
    names = aiohttp_names(tree)
    found = []
    for node in ast.walk(tree):
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        elif (
            isinstance(node, ast.Call)
            and getattr(node.func, "attr", getattr(node.func, "id", "")) == "setattr"
        ):
            first = node.args[0] if node.args else None
            if isinstance(first, ast.Constant) and str(first.value).startswith("aiohttp"):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
            targets = [ast.Attribute(value=first, attr="?")] if isinstance(first, ast.expr) else []
        for target in targets:
            if isinstance(target, ast.Attribute) and root_name(target) in names:
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    return found


def test_no_module_rebinds_anything_of_aiohttp():
    found = [where for path in sources() for where in rebindings(path)]
    assert found == []


def test_the_search_for_rebindings_finds_one(tmp_path):
    """The check above can fail: a rebinding written the way ``install()`` used to do it is found."""
    (tmp_path / "patch.py").write_text(
        "from aiohttp import web_server\nimport aiohttp\n"
        "web_server.RequestHandler = object\nsetattr(aiohttp.web, 'Server', object)\n"
    )
    global ROOT
    saved, ROOT = ROOT, tmp_path
    try:
        assert rebindings(tmp_path / "patch.py") == ["patch.py:3", "patch.py:4"]
    finally:
        ROOT = saved
