"""The documentation says what the code has: its settings, error codes, metrics, routes, files,
benchmark commands, links, and the counts it states."""

from __future__ import annotations

import ast
import contextlib
import importlib
import importlib.util
import io
import re
import shlex
import types
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from prometheus_client.registry import REGISTRY
from pydantic import BaseModel

from orchestrator import errors, metrics  # noqa: F401  (metrics: registers every metric)
from orchestrator.registry import SERVICES
from orchestrator.settings import Settings
from orchestrator.web.app import create_app, http_sessions
from orchestrator.web.keys import HTTP_SESSIONS, SETTINGS

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
README = ROOT / "README.md"
#: What a reader reads as the project's reference: the README and every page of docs/.
PAGES = (README, *sorted(DOCS.glob("*.md")))
NUMBERS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9}


def _setting_names() -> set[str]:
    """Each environment variable the settings read, nested groups as ``GROUP__FIELD``."""
    names = set()
    for name, field in Settings.model_fields.items():
        if name == "services":
            continue  # documented once, as SERVICES__{NAME}__ before any policy variable
        group = field.annotation
        if isinstance(group, type) and issubclass(group, BaseModel):
            names |= {f"{name}__{inner}".upper() for inner in group.model_fields}
        else:
            names.add(name.upper())
    return names


def test_configuration_lists_every_setting() -> None:
    text = (DOCS / "configuration.md").read_text()
    documented = set(re.findall(r"`([A-Z][A-Z0-9_]*)`", text))
    assert _setting_names() - documented == set()


def test_every_variable_configuration_lists_is_read() -> None:
    """Each variable in the first column of configuration.md's tables is a setting (``{NAME}``
    standing for every service of the registry), or read by the reference services."""
    text = (DOCS / "configuration.md").read_text()
    first_cells = re.findall(r"^\| ([^|]+) \|", text, flags=re.MULTILINE)
    documented = {name for cell in first_cells for name in re.findall(r"`([A-Z{][A-Z0-9_{}]*)`", cell)}
    services_read = _read_by_the_reference_services()
    unknown = {
        name
        for name in documented
        if name not in services_read
        and not all(_is_setting(concrete) for concrete in _for_every_service(name))
    }
    assert unknown == set()


def _for_every_service(name: str) -> list[str]:
    if "{NAME}" not in name:
        return [name]
    return [name.replace("{NAME}", entry.name.upper()) for entry in SERVICES]


def _is_setting(variable: str) -> bool:
    """Whether pydantic-settings reads ``variable`` (``GROUP__FIELD`` into nested models)."""
    model: Any = Settings
    parts = variable.lower().split("__")
    for depth, part in enumerate(parts):
        if model is None:
            return False
        if _is_str_mapping(model):
            model = typing.get_args(model)[1]  # any key of a mapping of models
            continue
        if not (isinstance(model, type) and issubclass(model, BaseModel)) or part not in model.model_fields:
            return False
        model = _model_in(model.model_fields[part].annotation) if depth < len(parts) - 1 else None
    return True


def _model_in(annotation: Any) -> Any:
    """The model (or mapping of models) a field holds, ``None`` allowed beside it."""
    held = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
    if typing.get_origin(annotation) in (typing.Union, types.UnionType) and len(held) == 1:
        return held[0]
    return annotation


def _is_str_mapping(annotation: Any) -> bool:
    return typing.get_origin(annotation) is dict and typing.get_args(annotation)[:1] == (str,)


def _read_by_the_reference_services() -> set[str]:
    source = "\n".join(path.read_text() for path in (ROOT / "services").rglob("*.py"))
    return set(re.findall(r"environ\.get\(\"([A-Z][A-Z0-9_]*)\"", source))


def test_contract_lists_every_error_code_with_its_status() -> None:
    text = (DOCS / "contract.md").read_text()
    codes = {cls.code: cls.status for cls in _error_classes(errors.ApiError)}
    rows = dict(re.findall(r"^\| `([A-Z_]+)` \| (\d{3}) \|", text, flags=re.MULTILINE))
    assert {code: str(status) for code, status in codes.items()} == rows


def test_the_readme_names_every_error_code_with_its_status() -> None:
    """As "`INVALID_TICKER`, `INVALID_DATE_RANGE` 400": each code, then its status."""
    text = " ".join(README.read_text().split())
    said = {
        code: status
        for codes, status in re.findall(r"((?:`[A-Z_]+`, )*`[A-Z_]+`) (\d{3})\b", text)
        for code in re.findall(r"`([A-Z_]+)`", codes)
    }
    codes = {cls.code: str(cls.status) for cls in _error_classes(errors.ApiError)}
    assert {code: said.get(code) for code in codes} == codes


def _error_classes(base: type) -> set[type]:
    found = set()
    for cls in base.__subclasses__():
        found |= _error_classes(cls)
        if "code" in vars(cls):
            found.add(cls)
    return found


# --- metrics ---------------------------------------------------------------------------------------


def _metric_names() -> set[str]:
    """Every name /metrics can show for the orchestrator's metrics (a counter's ``_total``, a
    histogram's series)."""
    suffixes = {"counter": ("_total",), "histogram": ("", "_bucket", "_sum", "_count"), "gauge": ("",)}
    names = set()
    for family in REGISTRY.collect():
        if family.name.startswith("orchestrator_"):
            names |= {family.name + suffix for suffix in suffixes.get(family.type, ("",))}
    return names


def test_every_metric_the_docs_name_is_exported() -> None:
    adapter = (ROOT / "deploy" / "prometheus-adapter" / "config.yaml").read_text()
    served_by_the_adapter = set(re.findall(r'as: "(orchestrator_\w+)"', adapter))
    named = {name for page in PAGES for name in re.findall(r"\b(orchestrator_[a-z_]+)\b", page.read_text())}
    assert named - _metric_names() - served_by_the_adapter == set()


def test_operations_lists_every_metric() -> None:
    table = re.findall(r"^\| `(orchestrator_[a-z_]+)`(?:, `(orchestrator_[a-z_]+)`)?", _operations(), re.M)
    documented = {name for row in table for name in row if name}
    exported = {name for name in _metric_names() if not name.endswith(("_bucket", "_sum", "_count"))}
    assert exported - documented == set()


def _operations() -> str:
    return (DOCS / "operations.md").read_text()


# --- routes, files and links -----------------------------------------------------------------------


def _served_routes() -> set[str]:
    app = create_app(Settings(_env_file=None))
    return {
        f"{route.method} {route.resource.canonical}"
        for route in app.router.routes()
        if route.method in ("GET", "POST", "DELETE") and route.resource is not None
    }


def test_the_readme_lists_every_route_and_only_those() -> None:
    table = re.findall(
        r"^\| ((?:`(?:GET|POST|DELETE) [^`]+`(?:, )?)+) \|", README.read_text(), flags=re.MULTILINE
    )
    listed = {route for row in table for route in re.findall(r"`((?:GET|POST|DELETE) [^`]+)`", row)}
    static = {route for route in _served_routes() if route.endswith("/{name}")}  # the page's files
    assert listed == _served_routes() - static


#: Backticked names in the docs that are not files of the repository, on purpose.
NOT_FILES = {
    "gunicorn.conf.py",  # what gunicorn would read, and does not
    "request.json",  # made by the README's example
    "sweep.json",
    "profile.txt",  # what py-spy writes
    "TICKER.csv",  # the csv provider's files, the user's own
    "TICKER_dividends.csv",
    "index.css",  # files /api/docs/static/ no longer serves
    "config.yaml",  # a key of prometheus-adapter's ConfigMap
}
FILE_NAME = re.compile(r"^[\w.][\w./-]*\.(?:py|md|yaml|yml|cfg|toml|csv|json|txt|js|css|html|in)$")


def _repository_files() -> set[str]:
    skipped = {".git", ".venv", "build", "dist", "node_modules", "__pycache__"}
    found = set()
    for path in ROOT.rglob("*"):
        relative = path.relative_to(ROOT)
        if path.is_file() and not skipped & set(relative.parts) and ".egg-info" not in str(relative):
            found.add(relative.as_posix())
    return found


def test_every_file_the_docs_name_exists() -> None:
    """A path may be given from the root or from any folder (``web/server.py``, ``calendars.py``)."""
    files = _repository_files()
    named = {
        (page.name, name)
        for page in PAGES
        for name in re.findall(r"`([^`\s]+)`", page.read_text())
        if FILE_NAME.match(name) and name not in NOT_FILES
    }
    missing = {
        (page, name)
        for page, name in named
        if name.lstrip("./") not in files and not any(file.endswith("/" + name) for file in files)
    }
    assert missing == set()


def test_every_module_in_the_architecture_map_exists() -> None:
    tree = re.search(r"## The map\n\n```\n(.*?)```", (DOCS / "architecture.md").read_text(), re.S)
    assert tree is not None
    missing = [path for path in _map_paths(tree.group(1)) if not (ROOT / path).exists()]
    assert missing == []


def _map_paths(tree: str) -> Iterator[str]:
    """The files and folders the map names, from its indentation: ``name.py``, ``a.py, b.py``."""
    folders: list[tuple[int, str]] = []
    for line in tree.splitlines():
        indent = len(line) - len(line.lstrip())
        first = re.match(r"([\w.]+/|[\w.]+\.py(?:, [\w.]+\.py)*)(?:\s|$)", line.strip())
        if first is None or indent >= 20:  # a description's continuation
            continue
        folders = [(depth, name) for depth, name in folders if depth < indent]
        parent = "".join(name for _, name in folders)
        for name in first.group(1).split(", "):
            yield parent + name
        if first.group(1).endswith("/"):
            folders.append((indent, first.group(1)))


def _anchors(page: Path) -> set[str]:
    """GitHub's anchors of a page's headings: lower case, punctuation dropped, spaces as hyphens."""
    headings = re.findall(r"^#+ (.+)$", page.read_text(), flags=re.MULTILINE)
    return {re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-") for heading in headings}


def test_every_link_between_the_docs_leads_somewhere() -> None:
    broken = []
    for page in (*PAGES, ROOT / "CHANGELOG.md"):
        for target, anchor in re.findall(r"\]\(([^)#\s:]*\.md|)(?:#([^)\s]+))?\)", page.read_text()):
            linked = (page.parent / target).resolve() if target else page
            if not linked.exists() or (anchor and anchor not in _anchors(linked)):
                broken.append(f"{page.name}: {target}#{anchor}")
    assert broken == []


# --- what the docs count ---------------------------------------------------------------------------


def test_the_readme_counts_the_tests_that_need_chromium() -> None:
    stated = re.search(r"The browser tests of `make test` \((\d+),", README.read_text())
    assert stated is not None
    assert int(stated.group(1)) == len(_browser_tests())


def _browser_tests() -> list[str]:
    """Tests marked ``browser`` (their own mark or their module's ``pytestmark``), or asking for
    the browser's fixtures (``tests/e2e/conftest.py``)."""
    found = []
    for path in sorted((ROOT / "tests").rglob("test_*.py")):
        module = ast.parse(path.read_text())
        marked = any(
            isinstance(node, ast.Assign)
            and "pytestmark" in {ast.unparse(target) for target in node.targets}
            and "mark.browser" in ast.unparse(node.value)
            for node in module.body
        )
        for node in module.body:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("test_"):
                own = any("mark.browser" in ast.unparse(decorator) for decorator in node.decorator_list)
                asks = {arg.arg for arg in node.args.args} & {"page", "browser"}
                if marked or own or asks:
                    found.append(f"{path.name}::{node.name}")
    return found


async def test_architecture_counts_the_sessions_the_application_opens() -> None:
    app = web.Application()
    app[SETTINGS] = Settings(_env_file=None)
    sessions = http_sessions(app)
    await anext(sessions)
    try:
        opened = len(app[HTTP_SESSIONS])
    finally:
        await sessions.aclose()
    stated = re.search(
        r"`http_sessions`: (\w+)\s+`aiohttp.ClientSession`s", (DOCS / "architecture.md").read_text()
    )
    assert stated is not None
    assert NUMBERS[stated.group(1)] == opened


# --- benchmark commands ----------------------------------------------------------------------------


def _benchmark_commands() -> set[str]:
    """Each ``python -m benchmarks...`` the docs give in full, in a code span or a code block's
    line (its comment left out); not a synopsis with placeholders (``NAME``, ``[--delay S]``)."""
    commands = set()
    for page in PAGES:
        text = page.read_text()
        blocks = re.findall(r"^```.*?^```", text, flags=re.MULTILINE | re.DOTALL)
        prose = re.sub(r"^```.*?^```", "", text, flags=re.MULTILINE | re.DOTALL)
        lines = [line.split("#")[0] for block in blocks for line in block.splitlines()]
        for found in (*re.findall(r"`([^`]+)`", prose), *lines):
            command = re.search(r"python (-m benchmarks\S*(?: \S+)*)", " ".join(found.split()))
            if command and not re.search(r"\[|\||\.\.\.|\b[A-Z]+\b", command.group(1)):
                commands.add(command.group(1))
    return commands


def test_the_docs_give_benchmark_commands() -> None:
    assert {"-m benchmarks --only cost", "-m benchmarks.decoding", "-m benchmarks.edges burst"} <= (
        _benchmark_commands()
    )


@pytest.mark.parametrize("command", sorted(_benchmark_commands()))
def test_every_benchmark_command_in_the_docs_parses(command: str) -> None:
    _, module_name, *argv = shlex.split(command)
    assert importlib.util.find_spec(module_name) is not None, f"no module {module_name}"
    module = importlib.import_module(module_name + (".__main__" if module_name == "benchmarks" else ""))
    if not hasattr(module, "parser"):
        assert argv == [], f"{module_name} takes no arguments"
        return
    said = io.StringIO()
    try:
        with contextlib.redirect_stderr(said):
            module.parser().parse_args(argv)
    except SystemExit:
        pytest.fail(f"python {command}: {said.getvalue()}")
