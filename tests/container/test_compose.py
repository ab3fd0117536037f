"""docker-compose.yml read, not run (no Compose here): each reference service from the Dockerfile's
platform target, the only one with their stack, and the orchestrator from the gateway target, as
tests/container runs them from the images ``.ci/container build`` makes."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from orchestrator.registry import SERVICES

ROOT = Path(__file__).resolve().parents[2]


def compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]


def stages() -> list[str]:
    """The Dockerfile's named stages, in order."""
    return re.findall(r"^FROM \S+ AS (\S+)$", (ROOT / "Dockerfile").read_text(), re.MULTILINE)


def test_every_reference_service_runs_from_the_platform_target():
    services = {name: spec for name, spec in compose().items() if name != "orchestrator"}
    assert len(services) == len(SERVICES)
    for name, spec in services.items():
        assert spec["build"]["target"] == "platform", name
        assert spec["command"][:3] == ["python", "-m", "services"], name


def test_the_orchestrator_runs_from_the_gateway_target():
    orchestrator = compose()["orchestrator"]
    assert orchestrator["build"]["target"] == "gateway"
    assert "command" not in orchestrator  # the image's own: orchestrator serve


def test_the_targets_are_the_dockerfiles_and_the_gateway_is_its_default():
    """``docker build .`` makes the last stage: the gateway, what deploy/ and production run."""
    assert "platform" in stages()
    assert stages()[-1] == "gateway"


def test_each_image_name_is_built_from_one_target():
    targets: dict[str, set[str]] = {}
    for spec in compose().values():
        targets.setdefault(spec["image"], set()).add(spec["build"]["target"])
    assert targets == {"backtest-platform:local": {"platform"}, "backtest-orchestrator:local": {"gateway"}}
