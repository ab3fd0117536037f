"""Settings come from the environment and are validated at start-up with a clear message."""

from __future__ import annotations

import subprocess
import sys

import pytest

from orchestrator.registry import SERVICES
from orchestrator.settings import Settings, SettingsError, load_settings


def test_defaults_match_the_contract(monkeypatch):
    for name in ("MARKET_DATA_URL", "STRATEGY_URL", "PORTFOLIO_URL", "METRICS_URL", "TEST_DATA_URL"):
        monkeypatch.delenv(name, raising=False)
    settings = load_settings()
    assert settings.port == 8011
    assert [
        settings.url(name) for name in ("market_data", "strategy", "portfolio", "metrics", "test_data")
    ] == [
        "http://market-data:8012",
        "http://strategy:8013",
        "http://portfolio:8014",
        "http://metrics:8015",
        "http://test-data-fetcher:8016",
    ]
    assert settings.risk_free_rate_annual == 0.0
    assert (settings.log_format, settings.log_level) == ("json", "INFO")


def test_environment_overrides(monkeypatch):
    monkeypatch.setenv("STRATEGY_URL", "http://127.0.0.1:9013/")
    monkeypatch.setenv("SERVICES__PORTFOLIO__TIMEOUT__ATTEMPT_S", "2.5")
    monkeypatch.setenv("BACKTEST_DEADLINE_S", "20")
    monkeypatch.setenv("RISK_FREE_RATE_ANNUAL", "0.03")
    monkeypatch.setenv("LOG_FORMAT", "Console")
    monkeypatch.setenv("LOG_LEVEL", "debug")
    monkeypatch.setenv("CORS_ORIGINS", "http://a.example, http://b.example")
    settings = load_settings()
    assert settings.url("strategy") == "http://127.0.0.1:9013"
    assert (settings.policy("portfolio").timeout.attempt_s, settings.backtest_deadline_s) == (2.5, 20)
    assert settings.risk_free_rate_annual == 0.03
    assert (settings.log_format, settings.log_level) == ("console", "DEBUG")
    assert settings.cors_origins == ("http://a.example", "http://b.example")


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("MARKET_DATA_URL", "market-data"),
        ("SERVICES__METRICS__TIMEOUT__ATTEMPT_S", "0"),
        ("RETRY__MAX_ATTEMPTS", "0"),
        ("PORT", "70000"),
        ("LOG_FORMAT", "xml"),
    ],
)
def test_bad_values_name_the_setting(monkeypatch, name, value):
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError, match=name):
        load_settings()


def test_serve_refuses_bad_settings_with_a_message_not_a_traceback():
    result = subprocess.run(
        [sys.executable, "-m", "orchestrator", "serve"],
        env={"PATH": "", "SERVICES__METRICS__RETRY__MAX_ATTEMPTS": "0"},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    said = "SERVICES__METRICS__RETRY__MAX_ATTEMPTS: Input should be greater than or equal to 1"
    assert said in result.stderr
    assert "Traceback" not in result.stderr


# --- one policy per service ------------------------------------------------------------------------


def policies(settings: Settings, group: str, name: str) -> dict[str, object]:
    """``group.name`` of every service's policy."""
    return {entry.name: getattr(getattr(settings.policy(entry.name), group), name) for entry in SERVICES}


def test_a_service_override_changes_that_service_only(monkeypatch):
    monkeypatch.setenv("SERVICES__METRICS__RETRY__MAX_ATTEMPTS", "1")
    monkeypatch.setenv("SERVICES__METRICS__HEDGE__FLOOR_S", "0.2")
    settings = load_settings()
    assert policies(settings, "retry", "max_attempts") == {
        "market_data": 3,
        "strategy": 3,
        "portfolio": 3,
        "metrics": 1,
        "test_data": 3,
    }
    assert policies(settings, "hedge", "floor_s")["metrics"] == 0.2
    assert {value for name, value in policies(settings, "hedge", "floor_s").items() if name != "metrics"} == {
        0.05
    }


def test_a_default_for_every_service_applies_to_each_unless_overridden(monkeypatch):
    monkeypatch.setenv("BREAKER__OPEN_S", "30")
    monkeypatch.setenv("SERVICES__STRATEGY__BREAKER__OPEN_S", "2")
    settings = load_settings()
    assert policies(settings, "breaker", "open_s") == {
        "market_data": 30,
        "strategy": 2,
        "portfolio": 30,
        "metrics": 30,
        "test_data": 30,
    }


def test_a_default_for_every_service_goes_over_the_registry_entrys_own(monkeypatch):
    assert load_settings().policy("portfolio").timeout.attempt_s == 15  # the entry's own default
    monkeypatch.setenv("TIMEOUT__ATTEMPT_S", "4")
    assert set(policies(load_settings(), "timeout", "attempt_s").values()) == {4}


def test_layers_are_merged_field_by_field(monkeypatch):
    monkeypatch.setenv("RETRY__BASE_BACKOFF_S", "0.1")
    monkeypatch.setenv("SERVICES__METRICS__RETRY__MAX_ATTEMPTS", "5")
    retry = load_settings().policy("metrics").retry
    assert (retry.max_attempts, retry.base_backoff_s, retry.max_backoff_s) == (5, 0.1, 1.0)


def test_a_whole_service_policy_may_be_given_as_json(monkeypatch):
    monkeypatch.setenv("SERVICES__METRICS", '{"hedge": {"enabled": false}, "bulkhead": {"max_in_flight": 9}}')
    metrics = load_settings().policy("metrics")
    assert (metrics.hedge.enabled, metrics.bulkhead.max_in_flight) == (False, 9)
    assert load_settings().policy("strategy").hedge.enabled


@pytest.mark.parametrize(
    ("variable", "value", "line"),
    [
        (
            "SERVICES__METRICS__RETRY__MAX_ATTEMPTS",
            "0",
            "SERVICES__METRICS__RETRY__MAX_ATTEMPTS: Input should be greater than or equal to 1",
        ),
        (
            "SERVICES__METRICS__HEDGE__ENABLED",
            "maybe",
            "SERVICES__METRICS__HEDGE__ENABLED: Input should be a valid boolean",
        ),
        (
            "SERVICES__METRICS__RETRY__ATTEMPTS",
            "2",
            "SERVICES__METRICS__RETRY__ATTEMPTS: Extra inputs are not permitted",
        ),
        # no such service
        ("SERVICES__METRIC__RETRY__MAX_ATTEMPTS", "2", "SERVICES__METRIC: Extra inputs are not permitted"),
        # a rule across fields, over what the other layers say (max_backoff_s: 1)
        (
            "SERVICES__PORTFOLIO__RETRY__BASE_BACKOFF_S",
            "5",
            "SERVICES__PORTFOLIO__RETRY: Value error, base_backoff_s must not exceed max_backoff_s",
        ),
    ],
)
def test_a_bad_override_is_named_with_what_is_wrong(monkeypatch, variable, value, line):
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError) as raised:
        load_settings()
    [said] = str(raised.value).splitlines()[1:]
    assert said.startswith(f"  {line}")


@pytest.mark.parametrize("variable", ["SERVICES__METRICS", "RETRY"])
def test_a_group_given_whole_that_is_not_json_is_named_not_a_traceback(monkeypatch, variable):
    monkeypatch.setenv(variable, "max_attempts=2")
    with pytest.raises(SettingsError, match=f'field "{variable.split("__")[0].lower()}".*must be JSON'):
        load_settings()


def test_a_bad_default_for_every_service_is_named_once(monkeypatch):
    monkeypatch.setenv("RETRY__MAX_ATTEMPTS", "0")
    with pytest.raises(SettingsError) as raised:
        load_settings()
    assert str(raised.value).splitlines()[1:] == [
        "  RETRY__MAX_ATTEMPTS: Input should be greater than or equal to 1 (got '0')"
    ]


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("METRICS_TIMEOUT_S", "SERVICES__METRICS__TIMEOUT__ATTEMPT_S"),
        ("MARKET_DATA_HEDGE", "SERVICES__MARKET_DATA__HEDGE__ENABLED"),
        ("PORTFOLIO_MAX_IN_FLIGHT", "SERVICES__PORTFOLIO__BULKHEAD__MAX_IN_FLIGHT"),
    ],
)
def test_a_variable_no_longer_read_stops_start_up_naming_its_successor(monkeypatch, old, new):
    monkeypatch.setenv(old, "1")
    with pytest.raises(SettingsError, match=f"{old}: no longer read; set {new}"):
        load_settings()
