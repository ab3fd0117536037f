"""``AUTH__*`` and ``QUOTA__*`` read and checked (``auth/config.py``, ``settings.py``)."""

from __future__ import annotations

import pytest

from orchestrator.auth.config import AuthConfig, Quota, QuotaConfig
from orchestrator.settings import SettingsError, load_settings

JWT = {"AUTH__JWKS_FILE": "/tmp/jwks.json", "AUTH__ISSUER": "https://idp.test/", "AUTH__AUDIENCE": "api"}


@pytest.mark.parametrize(
    "given, modes",
    [("none", ()), ("api_key", ("api_key",)), ("jwt", ("jwt",)), ("api_key, JWT", ("api_key", "jwt"))],
)
def test_the_mode_is_read_from_a_comma_separated_list(monkeypatch, given, modes):
    monkeypatch.setenv("AUTH__MODE", given)
    for name, value in {**JWT, "AUTH__API_KEYS_FILE": "/tmp/keys.json"}.items():
        monkeypatch.setenv(name, value)
    assert load_settings(_env_file=None).auth.mode == modes


def test_the_default_mode_is_none():
    assert not AuthConfig().enabled


def test_an_unknown_mode_stops_start_up(monkeypatch):
    monkeypatch.setenv("AUTH__MODE", "basic")
    with pytest.raises(SettingsError, match="AUTH__MODE"):
        load_settings(_env_file=None)


@pytest.mark.parametrize("missing", ["AUTH__ISSUER", "AUTH__AUDIENCE"])
def test_jwt_needs_an_issuer_and_an_audience(monkeypatch, missing):
    monkeypatch.setenv("AUTH__MODE", "jwt")
    for name, value in JWT.items():
        if name != missing:
            monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError, match="AUTH__ISSUER and AUTH__AUDIENCE"):
        load_settings(_env_file=None)


def test_jwt_needs_one_source_of_keys():
    with pytest.raises(ValueError, match="one of AUTH__JWKS_URL or AUTH__JWKS_FILE"):
        AuthConfig(mode=("jwt",), issuer="i", audience="a")
    with pytest.raises(ValueError, match="one of AUTH__JWKS_URL or AUTH__JWKS_FILE"):
        AuthConfig(mode=("jwt",), issuer="i", audience="a", jwks_file="/f", jwks_url="http://idp.test/")


def test_api_keys_need_a_file_or_redis(monkeypatch):
    monkeypatch.setenv("AUTH__MODE", "api_key")
    with pytest.raises(SettingsError, match="AUTH__API_KEYS_FILE or REDIS_URL"):
        load_settings(_env_file=None)
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6379/0")
    assert load_settings(_env_file=None).auth.mode == ("api_key",)


def test_a_tenant_s_quota_is_over_the_defaults_and_a_key_s_over_both(monkeypatch):
    monkeypatch.setenv("QUOTA__REQUESTS_PER_S", "10")
    monkeypatch.setenv("QUOTA__TENANTS__DESK__REQUESTS_PER_S", "2")
    monkeypatch.setenv("QUOTA__TENANTS__DESK__BURST", "3")
    quota = load_settings(_env_file=None).quota
    assert (quota.limits("other").requests_per_s, quota.limits("other").burst) == (10, 40)
    assert (quota.limits("Desk").requests_per_s, quota.limits("desk").burst) == (2, 3)
    assert quota.limits("desk", Quota(burst=7)).model_dump() == {
        "requests_per_s": 2,
        "burst": 7,
        "backtests_in_flight": 16,
        "jobs_active": 100,
        "settings_per_day": 100_000,
    }


def test_only_configured_tenants_are_named_in_labels():
    quota = QuotaConfig(tenants={"desk": Quota()})
    assert (quota.tenant_label("DESK"), quota.tenant_label("anyone-else")) == ("desk", "other")
