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
    """Every module each file of ``package`` imports, by file."""
    found: dict[str, set[str]] = {}
    for path in sorted((ROOT / package).rglob("*.py")):
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


def test_streams_know_nothing_of_the_orchestrator():
    assert offending("streams", "orchestrator", "services") == {}


def test_the_reference_services_read_only_the_registry_of_the_orchestrator():
    imported = {name for names in imports_of("services").values() for name in names}
    assert {name for name in imported if name.startswith("orchestrator")} <= {
        "orchestrator.registry",
        "orchestrator.registry.BY_NAME",
    }


@pytest.mark.parametrize(
    "statement", ["import orchestrator.cli.backtest", "from orchestrator.cli import main"]
)
def test_the_command_line_client_loads_nothing_of_the_server(statement):
    loaded = loaded_by(statement)
    ours = [name for name in loaded if name.startswith("orchestrator.")]
    # the registry, and what the build is (orchestrator --version): both standard library only
    shared = ("orchestrator.registry", "orchestrator.build_info")
    assert all(name.startswith("orchestrator.cli") or name in shared for name in ours), ours
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
