"""The service registry is the one list of services: everything that names them reads it."""

from __future__ import annotations

from dataclasses import fields

import pytest
from reactivex.testing import TestScheduler

from orchestrator.cli.platform import LocalPlatform
from orchestrator.clients.downstream import CLIENT_KINDS, Downstream, connect
from orchestrator.registry import BY_NAME, SERVICES
from orchestrator.resilience.policy import PolicyConfig
from orchestrator.settings import Settings
from orchestrator.web.routes.health import CHECKED

NAMES = [entry.name for entry in SERVICES]


def test_names_are_unique():
    assert len(set(NAMES)) == len(NAMES) == len(BY_NAME)


@pytest.mark.parametrize("entry", SERVICES, ids=NAMES)
def test_settings_default_to_the_entry(entry):
    settings = Settings(_env_file=None)
    assert settings.url(entry.name) == f"http://{entry.default_host}:{entry.default_port}"
    assert settings.policy(entry.name) == PolicyConfig.model_validate(entry.policy)


def test_the_portfolio_service_has_a_longer_attempt_timeout_of_its_own():
    settings = Settings(_env_file=None)
    assert {name: settings.policy(name).timeout.attempt_s for name in NAMES} == {
        "market_data": 10,
        "strategy": 10,
        "portfolio": 15,
        "metrics": 10,
        "test_data": 10,
    }


@pytest.mark.parametrize("entry", SERVICES, ids=NAMES)
def test_settings_read_the_entrys_variables(entry, monkeypatch):
    monkeypatch.setenv(entry.url_variable, "http://elsewhere:9000")
    monkeypatch.setenv(f"{entry.policy_prefix}TIMEOUT__ATTEMPT_S", "7.5")
    settings = Settings(_env_file=None)
    assert settings.url(entry.name) == "http://elsewhere:9000"
    assert {name: settings.policy(name).timeout.attempt_s == 7.5 for name in NAMES} == {
        name: name == entry.name for name in NAMES
    }


def test_there_is_a_client_for_every_entry_at_its_configured_place():
    settings = Settings(
        _env_file=None,
        strategy_url="http://strategy.test:1/",
        services={"portfolio": {"timeout": {"attempt_s": 3}}},
    )
    downstream = connect(settings, transport=None, scheduler=TestScheduler())  # type: ignore[arg-type]
    assert set(CLIENT_KINDS) == set(SERVICES)
    assert [field.name for field in fields(Downstream) if field.name != "scheduler"] == NAMES
    clients = {name: downstream.service(name) for name in NAMES}
    assert {name: client.name for name, client in clients.items()} == {name: name for name in NAMES}
    assert clients["strategy"].base_url == "http://strategy.test:1"
    assert clients["portfolio"].timeout_s == 3


def test_api_health_checks_the_four_services_of_the_contract():
    assert [entry.name for entry in CHECKED] == ["market_data", "strategy", "portfolio", "metrics"]


def test_orchestrator_dev_wires_the_orchestrator_through_the_entrys_variables(monkeypatch):
    platform = LocalPlatform.on_free_ports()
    for variable, url in platform.wiring().items():
        monkeypatch.setenv(variable, url)
    settings = Settings(_env_file=None)
    assert {name: settings.url(name) for name in NAMES} == {
        name: platform.service_url(name) for name in NAMES
    }
