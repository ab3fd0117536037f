"""What installing the orchestrator brings: the gateway's own requirements (no extra) bring none of the
reference services' stack (pandas, numpy, starlette, uvicorn, exchange-calendars) nor yfinance, read
from the installed distribution's metadata and walked through everything it requires in turn.

This reads what is installed here; ``.ci/run`` also resolves the gateway alone against the index
(``pip install --dry-run --report``), which sees the versions a fresh install would get.
"""

from __future__ import annotations

import sysconfig
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


def test_the_tracing_extra_brings_opentelemetrys_sdk_and_exporter_and_the_gateway_none_of_it():
    exporter = {"opentelemetry-sdk", "opentelemetry-exporter-otlp-proto-http"}
    assert brought_by(DISTRIBUTION, frozenset({"tracing"})) >= exporter
    assert {name for name in brought_by(DISTRIBUTION) if name.startswith("opentelemetry")} == set()


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

    assert installed().version == orchestrator.__version__


#: What the distribution is licensed under, and the files that say so: ours, and the vendored Swagger
#: UI's (orchestrator/web/swagger-ui/README.md).
LICENSE_EXPRESSION = "MIT AND Apache-2.0"
LICENSE_FILES = [
    "LICENSE",
    "orchestrator/web/swagger-ui/LICENSE",
    "orchestrator/web/swagger-ui/NOTICE",
    "orchestrator/web/swagger-ui/swagger-ui-bundle.js.LICENSE.txt",
    "orchestrator/web/swagger-ui/swagger-ui-standalone-preset.js.LICENSE.txt",
]


def installed() -> metadata.Distribution:
    """The distribution pip installed in site-packages (its dist-info), not the ``.egg-info`` an
    editable install leaves in the source tree, which comes first on ``sys.path`` here."""
    (found,) = metadata.Distribution.discover(name=DISTRIBUTION, path=[sysconfig.get_paths()["purelib"]])
    return found


def licenses(distribution: metadata.Distribution) -> dict[str, str]:
    """The license files installed in the distribution's ``licenses/`` folder, by their path in it."""
    marker = ".dist-info/licenses/"
    return {
        str(path).split(marker, 1)[1]: path.read_text()
        for path in distribution.files or []
        if marker in str(path)
    }


def test_the_license_expression_names_ours_and_swagger_uis():
    distribution = installed()
    assert distribution.metadata["License-Expression"] == LICENSE_EXPRESSION
    assert distribution.metadata.get_all("License-File") == LICENSE_FILES


def test_every_license_file_is_installed_with_the_distribution():
    """What the sdist and the wheel ship (``.ci/dist`` checks them) is installed here too."""
    assert sorted(licenses(installed())) == sorted(LICENSE_FILES)


def test_our_license_is_mit_by_the_authors():
    text = licenses(installed())["LICENSE"]
    assert text.startswith("MIT License")
    assert "Copyright (c) 2026 The backtest orchestrator authors" in text


def test_swagger_uis_license_is_apache_2_0_with_its_notice():
    shipped = licenses(installed())
    assert "Apache License" in shipped["orchestrator/web/swagger-ui/LICENSE"]
    assert "Version 2.0" in shipped["orchestrator/web/swagger-ui/LICENSE"]
    assert "SmartBear" in shipped["orchestrator/web/swagger-ui/NOTICE"]


def test_the_packages_say_they_are_typed():
    """PEP 561: type checkers read the annotations of an installed orchestrator and streams."""
    for package in ("orchestrator", "streams"):
        assert resources.files(package).joinpath("py.typed").is_file(), package
