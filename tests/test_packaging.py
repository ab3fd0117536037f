"""What installing the orchestrator brings: the gateway's own requirements (no extra) bring none of the
reference services' stack (pandas, numpy, starlette, uvicorn, exchange-calendars) nor yfinance, read
from the installed distribution's metadata and walked through everything it requires in turn.

This reads what is installed here; ``.ci/run`` also resolves the gateway alone against the index
(``pip install --dry-run --report``), which sees the versions a fresh install would get.
"""

from __future__ import annotations

from importlib import metadata, resources

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from orchestrator.cli.platform import SERVICES_STACK

DISTRIBUTION = "backtest-orchestrator"
#: What only the reference services (and the yahoo provider) need: never the gateway's.
SERVICES_ONLY = {"pandas", "numpy", "starlette", "uvicorn", "exchange-calendars", "yfinance"}


def requirements(name: str, extras: frozenset[str] = frozenset()) -> list[Requirement]:
    """What the installed distribution ``name`` requires here, with ``extras`` asked for: the
    requirements whose marker holds on this interpreter and platform for one of them (or for none)."""
    wanted = [Requirement(line) for line in metadata.requires(name) or []]
    return [
        requirement
        for requirement in wanted
        if requirement.marker is None
        or any(requirement.marker.evaluate({"extra": extra}) for extra in {"", *extras})
    ]


def brought_by(name: str, extras: frozenset[str] = frozenset()) -> set[str]:
    """Every distribution installing ``name[extras]`` brings, itself excluded, by canonical name."""
    seen: set[str] = set()
    pending = [(name, extras)]
    while pending:
        current, asked = pending.pop()
        for requirement in requirements(current, asked):
            required = canonicalize_name(requirement.name)
            if required == canonicalize_name(name):  # an extra asking for another of the same project
                pending.append((name, frozenset(requirement.extras)))
            elif required not in seen:
                seen.add(required)
                pending.append((required, frozenset(requirement.extras)))
    return seen


def test_the_gateways_own_requirements_bring_none_of_the_services_stack():
    assert brought_by(DISTRIBUTION) & SERVICES_ONLY == set()


def test_the_gateway_still_brings_its_own_stack():
    """The walk does follow what is required in turn: aiohttp's own requirements are in it."""
    brought = brought_by(DISTRIBUTION)
    assert {"aiohttp", "pydantic", "reactivex"} <= brought
    assert {"multidict", "yarl", "pydantic-core"} <= brought  # aiohttp's and pydantic's


def test_the_services_extra_brings_the_services_stack():
    assert brought_by(DISTRIBUTION, frozenset({"services"})) >= SERVICES_ONLY - {"yfinance"}


def test_the_yahoo_extra_brings_the_services_stack_and_yfinance():
    """The yahoo provider is one of the market data service's: without the stack it could not serve."""
    assert brought_by(DISTRIBUTION, frozenset({"yahoo"})) >= SERVICES_ONLY


def test_the_unconditional_requirements_name_none_of_the_services_stack():
    """Named, not only brought: every one of them is behind an ``extra ==`` marker."""
    named = {canonicalize_name(requirement.name) for requirement in requirements(DISTRIBUTION)}
    assert named & SERVICES_ONLY == set()
    assert named  # the metadata was read


def test_orchestrator_dev_checks_the_modules_of_the_services_extra():
    """``orchestrator dev`` looks for the modules of exactly the distributions of the extra."""
    extra = {canonicalize_name(r.name) for r in requirements(DISTRIBUTION, frozenset({"services"}))}
    extra -= {canonicalize_name(r.name) for r in requirements(DISTRIBUTION)}
    providers = metadata.packages_distributions()
    checked = {canonicalize_name(dist) for module in SERVICES_STACK for dist in providers.get(module, [])}
    assert checked == extra


def test_the_installed_version_is_the_packages_own():
    """setup.cfg reads ``orchestrator.__version__``: the metadata and the code say the same version."""
    import orchestrator

    assert metadata.version(DISTRIBUTION) == orchestrator.__version__


def test_the_license_is_mit_and_ships_with_the_distribution():
    """The metadata's license expression, and the file it names installed beside it (the LICENSE at
    the repository's root: what the sdist and the wheel ship, ``.ci/dist`` checks them)."""
    distribution = metadata.distribution(DISTRIBUTION)
    assert distribution.metadata["License-Expression"] == "MIT"
    assert distribution.metadata.get_all("License-File") == ["LICENSE"]
    shipped = [path for path in distribution.files or [] if path.name == "LICENSE"]
    assert len(shipped) == 1
    text = shipped[0].read_text()
    assert text.startswith("MIT License")
    assert "Copyright (c) 2026 The backtest orchestrator authors" in text


def test_the_packages_say_they_are_typed():
    """PEP 561: type checkers read the annotations of an installed orchestrator and streams."""
    for package in ("orchestrator", "streams"):
        assert resources.files(package).joinpath("py.typed").is_file(), package
