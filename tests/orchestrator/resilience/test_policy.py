"""A service's policy: its configuration made live, and its settings as numbers for /metrics."""

from __future__ import annotations

import ast
from pathlib import Path

import orchestrator.clients
import orchestrator.resilience
from orchestrator.resilience.policy import PolicyConfig, ServicePolicy


def clock() -> float:
    return 0.0


def test_each_group_of_the_config_shapes_its_mechanism():
    config = PolicyConfig.model_validate(
        {
            "timeout": {"attempt_s": 4},
            "retry": {"max_attempts": 2},
            "breaker": {"open_s": 9},
            "bulkhead": {"max_in_flight": 7},
        }
    )
    policy = ServicePolicy.for_service("metrics", config, clock)
    assert (policy.config, policy.timeout_s, policy.retry.max_attempts) == (config, 4, 2)
    assert (policy.breaker.service, policy.breaker.config.open_s) == ("metrics", 9)
    assert policy.bulkhead.max_in_flight == 7
    assert policy.latency is not None and policy.latency.config == config.hedge


def test_a_service_not_hedged_has_no_latency_to_hedge_on():
    config = PolicyConfig.model_validate({"hedge": {"enabled": False}})
    policy = ServicePolicy.for_service("metrics", config, clock)
    assert (policy.latency, policy.hedge_after_s()) == (None, None)


def test_flat_names_every_setting_once_as_group_and_field():
    flat = PolicyConfig.model_validate({"hedge": {"enabled": False}}).flat()
    assert (flat["hedge.enabled"], flat["retry.max_attempts"], flat["timeout.connect_s"]) == (0.0, 3.0, 10.0)
    groups = PolicyConfig.model_fields
    assert len(flat) == sum(len(groups[group].annotation.model_fields) for group in groups)


def imported_by(package: object) -> set[str]:
    """Every module a package's files import (``from a import b`` counted as ``a`` and ``a.b``)."""
    found: set[str] = set()
    for path in Path(package.__file__).parent.rglob("*.py"):  # type: ignore[attr-defined]
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module:
                found.add(node.module)
                found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def test_policies_are_given_their_settings_not_read_from_them():
    """The settings import the policies' configs; neither the policies nor the clients made
    with them import the settings back (no cycle through them)."""
    for package in (orchestrator.resilience, orchestrator.clients):
        assert {name for name in imported_by(package) if name.startswith("orchestrator.settings")} == set()
