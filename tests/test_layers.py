"""The layers stay apart: what each package may import, checked on the source and in a fresh process."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# aiohttp's server: the application, its router, its protocol. (``errors.py`` knows the framework's
# HTTP error classes, aiohttp.web_exceptions, to map them; that is not the server.)
AIOHTTP_SERVER = ("aiohttp.web", "aiohttp.web_app", "aiohttp.web_protocol", "aiohttp.web_urldispatcher")


def imports_of(package: str) -> dict[str, set[str]]:
    """Every module each file of ``package`` (or the one file) imports, by file."""
    found: dict[str, set[str]] = {}
    top = ROOT / package
    for path in [top] if top.is_file() else sorted(top.rglob("*.py")):
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module:
                names.add(node.module)
                names.update(f"{node.module}.{alias.name}" for alias in node.names)
        found[str(path.relative_to(ROOT))] = names
    return found


def offending(package: str, *forbidden: str) -> dict[str, list[str]]:
    return {
        path: sorted(name for name in names if name.startswith(forbidden))
        for path, names in imports_of(package).items()
        if any(name.startswith(forbidden) for name in names)
    }


def loaded_by(statement: str) -> list[str]:
    """The modules a fresh interpreter has loaded after ``statement``."""
    script = f"import json, sys\n{statement}\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, check=True, text=True)
    return json.loads(out.stdout)


def test_the_backtest_layer_imports_nothing_of_the_web_layer_or_the_server():
    assert (
        offending("orchestrator/backtest", "orchestrator.web", "aiohttp.web", "aiohttp_sse", "aiohttp_cors")
        == {}
    )


def test_the_research_layer_imports_nothing_of_the_web_layer_or_the_server():
    assert (
        offending("orchestrator/research", "orchestrator.web", "aiohttp.web", "aiohttp_sse", "aiohttp_cors")
        == {}
    )


def test_the_jobs_layer_imports_nothing_of_the_web_layer_or_the_server():
    assert (
        offending("orchestrator/jobs", "orchestrator.web", "aiohttp.web", "aiohttp_sse", "aiohttp_cors") == {}
    )


def test_the_clients_import_nothing_of_the_web_or_backtest_layers():
    assert offending("orchestrator/clients", "orchestrator.web", "orchestrator.backtest", "aiohttp.web") == {}


def test_the_backtest_layer_loads_no_server_in_a_fresh_process():
    loaded = loaded_by("import orchestrator.backtest.graph")
    assert [name for name in loaded if name.startswith("orchestrator.web") or name in AIOHTTP_SERVER] == []


def test_the_error_tree_imports_nothing_of_the_orchestrator():
    """errors.py is the bottom of the house: every layer raises its errors, so it can lean on none."""
    assert offending("orchestrator/errors.py", "orchestrator", "streams") == {}


# --- no cycles between packages -------------------------------------------------------------------


#: Edges that close a cycle today, each with the work that removes it: the test fails when one goes
#: away (strike it off then) and when any other edge closes a cycle.
def node_of(module: str) -> str | None:
    """The node of the package graph a module belongs to: ``orchestrator.<package>`` for a
    subpackage's modules, ``orchestrator.<module>`` for a top-level one, ``orchestrator`` itself for
    what its ``__init__`` holds; None outside the orchestrator."""
    parts = module.split(".")
    if parts[0] != "orchestrator":
        return None
    if len(parts) == 1:
        return "orchestrator"
    top = ROOT / "orchestrator" / parts[1]
    return f"orchestrator.{parts[1]}" if top.is_dir() or top.with_suffix(".py").is_file() else "orchestrator"


def package_graph() -> dict[str, set[str]]:
    """Which node imports which, from every import in the orchestrator's source (lazy ones included)."""
    graph: dict[str, set[str]] = {}
    for path, names in imports_of("orchestrator").items():
        source = node_of(".".join(Path(path).with_suffix("").parts).removesuffix(".__init__"))
        assert source is not None
        for name in names:
            target = node_of(name)
            if target not in (None, source, "orchestrator"):
                graph.setdefault(source, set()).add(target)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Each group of nodes that import each other, through any path (Tarjan's strongly connected
    components of more than one node), sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while (member := stack.pop()) != node:
                group.append(member)
            group.append(node)
            if len(group) > 1:
                groups.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(groups)


def test_no_two_packages_import_each_other_through_any_path():
    assert cycles(package_graph()) == []


def test_the_cycle_check_sees_a_cycle_between_two_packages():
    graph = {
        "orchestrator.a": {"orchestrator.b"},
        "orchestrator.b": {"orchestrator.c"},
        "orchestrator.c": {"orchestrator.a"},
    }
    assert cycles(graph) == [["orchestrator.a", "orchestrator.b", "orchestrator.c"]]
    assert cycles({**graph, "orchestrator.c": set()}) == []


def test_a_top_level_module_and_a_package_are_nodes_of_the_graph():
    assert (node_of("orchestrator.settings"), node_of("orchestrator.clients.service.ServiceClient")) == (
        "orchestrator.settings",
        "orchestrator.clients",
    )
    assert (node_of("orchestrator.__version__"), node_of("aiohttp.web")) == ("orchestrator", None)


def test_streams_know_nothing_of_the_orchestrator():
    assert offending("streams", "orchestrator", "services") == {}


def test_the_reference_services_read_only_the_registry_of_the_orchestrator():
    imported = {name for names in imports_of("services").values() for name in names}
    assert {name for name in imported if name.startswith("orchestrator")} <= {
        "orchestrator.registry",
        "orchestrator.registry.BY_NAME",
    }


@pytest.mark.parametrize(
    "statement",
    ["import orchestrator.cli.backtest", "from orchestrator.cli import main", "import orchestrator.client"],
)
def test_the_command_line_client_loads_nothing_of_the_server(statement):
    loaded = loaded_by(statement)
    ours = [name for name in loaded if name.startswith("orchestrator.")]
    # the registry, and what the build is (orchestrator --version): both standard library only
    shared = ("orchestrator.registry", "orchestrator.build_info")
    assert all(name.split(".")[1] in ("cli", "client") or name in shared for name in ours), ours
    assert [name for name in loaded if name in AIOHTTP_SERVER or name.startswith("aiohttp.web")] == []


# What only the reference services load (their stack, the services extra) and the yahoo provider's.
SERVICES_MODULES = ("pandas", "numpy", "starlette", "uvicorn", "exchange_calendars", "yfinance", "services")


@pytest.mark.parametrize(
    "statement",
    [
        "from orchestrator.web.app import create_app; from orchestrator.settings import Settings\n"
        "create_app(Settings())",
        "from orchestrator.cli import main",
        # what `orchestrator dev` does before it starts anything: looks for the stack, loads none of it
        "from orchestrator.cli.platform import SERVICES_STACK, missing_modules\n"
        "missing_modules(SERVICES_STACK)",
    ],
)
def test_the_gateway_loads_nothing_of_the_reference_services_stack(statement):
    loaded = loaded_by(statement)
    assert [name for name in loaded if name.split(".")[0] in SERVICES_MODULES] == []
    assert any(name.startswith("orchestrator.") for name in loaded)  # the statement did load ours


def test_the_reference_services_do_load_their_stack():
    """The check above can see the stack: a service's app loads starlette and, for its calendars, pandas."""
    loaded = loaded_by(
        "from services.market_data.app import create_app\n"
        "from services.market_data.calendars import calendar; calendar('XNYS')"
    )
    assert {"starlette", "pandas", "exchange_calendars"} <= {name.split(".")[0] for name in loaded}
