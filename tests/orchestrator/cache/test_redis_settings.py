"""``REDIS_URL``: unset by default (each process keeps its own), a Redis URL when set, nothing else."""

from __future__ import annotations

import pytest

from orchestrator.settings import SettingsError, load_settings


def test_without_redis_url_nothing_is_shared(monkeypatch):
    monkeypatch.delenv("REDIS_URL", raising=False)
    assert load_settings(_env_file=None).redis_url is None


def test_redis_url_and_the_redis_settings_are_read_from_the_environment(monkeypatch):
    monkeypatch.setenv("REDIS_URL", "redis://:secret@redis:6379/1")
    monkeypatch.setenv("CACHE__REDIS_TIMEOUT_S", "0.5")
    settings = load_settings(_env_file=None)
    assert (settings.redis_url, settings.cache.redis_timeout_s) == ("redis://:secret@redis:6379/1", 0.5)


@pytest.mark.parametrize("url", ["", "  "])
def test_an_empty_redis_url_is_unset(monkeypatch, url):
    monkeypatch.setenv("REDIS_URL", url)
    assert load_settings(_env_file=None).redis_url is None


@pytest.mark.parametrize("url", ["http://redis:6379", "redis:6379", "redis://"])
def test_anything_but_a_redis_url_is_refused(url):
    with pytest.raises(SettingsError, match="REDIS_URL"):
        load_settings(_env_file=None, redis_url=url)
