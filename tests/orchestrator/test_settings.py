"""Settings come from the environment and are validated at start-up with a clear message."""

from __future__ import annotations

import subprocess
import sys

import pytest

from orchestrator.settings import SettingsError, load_settings


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
    monkeypatch.setenv("PORTFOLIO_TIMEOUT_S", "2.5")
    monkeypatch.setenv("BACKTEST_DEADLINE_S", "20")
    monkeypatch.setenv("RISK_FREE_RATE_ANNUAL", "0.03")
    monkeypatch.setenv("LOG_FORMAT", "Console")
    monkeypatch.setenv("LOG_LEVEL", "debug")
    monkeypatch.setenv("CORS_ORIGINS", "http://a.example, http://b.example")
    settings = load_settings()
    assert settings.url("strategy") == "http://127.0.0.1:9013"
    assert (settings.portfolio_timeout_s, settings.backtest_deadline_s) == (2.5, 20)
    assert settings.risk_free_rate_annual == 0.03
    assert (settings.log_format, settings.log_level) == ("console", "DEBUG")
    assert settings.cors_origins == ("http://a.example", "http://b.example")


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("MARKET_DATA_URL", "market-data"),
        ("METRICS_TIMEOUT_S", "0"),
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
        env={"PATH": "", "METRICS_TIMEOUT_S": "-1"},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert "METRICS_TIMEOUT_S" in result.stderr
    assert "Traceback" not in result.stderr
