"""``orchestrator keys create|list|revoke`` (``cli/keys.py``): into a file, into Redis, and a key it
made taken by a running orchestrator; the client commands' ``--api-key``, ``$ORCHESTRATOR_API_KEY``
and ``--token``."""

from __future__ import annotations

import argparse

import pytest

from orchestrator.auth import api_keys
from orchestrator.cli import main, tickers
from tests.cli.conftest import run_command
from tests.orchestrator.cache.conftest import redis_server, redis_url  # noqa: F401  (fixtures)


@pytest.fixture(autouse=True)
def no_settings_from_outside(monkeypatch, tmp_path):
    for name in ("AUTH__API_KEYS_FILE", "REDIS_URL", "AUTH__MODE", "ORCHESTRATOR_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # no .env of the checkout's


def keys(*argv: str) -> int:
    return main(["keys", *argv])


def test_create_prints_the_key_once_on_stdout_and_keeps_its_hash(tmp_path, capsys):
    path = tmp_path / "keys.json"
    assert keys("--file", str(path), "create", "--tenant", "desk", "--scope", "read", "--burst", "5") == 0
    out, err = capsys.readouterr()
    key = out.strip()
    assert key.startswith("bto_") and "shown once" in err
    [record] = api_keys.read_file(path).values()
    assert (record.tenant, record.scopes, record.quota.burst) == ("desk", ("read",), 5)
    assert api_keys.check(key, {record.id: record}) == record
    assert key not in path.read_text()


def test_list_shows_ids_and_tenants_never_a_key(tmp_path, capsys):
    path = tmp_path / "keys.json"
    keys("--file", str(path), "create", "--tenant", "desk")
    key = capsys.readouterr().out.strip()
    assert keys("--file", str(path), "list") == 0
    out = capsys.readouterr().out
    assert key.split("_")[1] in out and "desk" in out and key not in out


def test_revoke_removes_the_key_and_an_unknown_id_exits_1(tmp_path, capsys):
    path = tmp_path / "keys.json"
    keys("--file", str(path), "create", "--tenant", "desk")
    key_id = capsys.readouterr().out.strip().split("_")[1]
    assert keys("--file", str(path), "revoke", key_id) == 0
    assert api_keys.read_file(path) == {}
    assert keys("--file", str(path), "revoke", key_id) == 1


def test_without_a_file_or_redis_it_says_where_to_keep_keys(capsys):
    assert keys("list") == 2
    assert "AUTH__API_KEYS_FILE" in capsys.readouterr().err


def test_an_unknown_scope_exits_2(tmp_path, capsys):
    assert keys("--file", str(tmp_path / "k.json"), "create", "--tenant", "d", "--scope", "admin") == 2
    assert "no such scope: admin" in capsys.readouterr().err


def test_keys_are_kept_in_redis_when_redis_url_is_set(monkeypatch, redis_url, capsys):  # noqa: F811
    monkeypatch.setenv("REDIS_URL", redis_url)
    assert keys("create", "--tenant", "desk") == 0
    key = capsys.readouterr().out.strip()
    import redis

    client = redis.Redis.from_url(redis_url)
    try:
        records = api_keys.redis_records(client)
        assert api_keys.check(key, records) is not None
        assert keys("revoke", key.split("_")[1]) == 0
        assert api_keys.redis_records(client) == {}
    finally:
        client.close()


# --- the client commands' credentials ------------------------------------------------------------


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="orchestrator")
    tickers.register(parser.add_subparsers())
    return parser.parse_args(["tickers", *argv])


@pytest.fixture
async def guarded(platform, tmp_path):
    key, record = api_keys.new_key("desk")
    path = tmp_path / "keys.json"
    api_keys.write_file(path, {record.id: record})
    return await platform(auth={"mode": "api_key", "api_keys_file": str(path)}), key


async def test_api_key_is_sent(guarded):
    url, key = guarded
    code, out, _ = await run_command(tickers.tickers, parse("qqq", "--url", url, "--api-key", key))
    assert code == 0 and "TQQQ" in out


async def test_the_key_is_read_from_the_environment(guarded, monkeypatch):
    url, key = guarded
    monkeypatch.setenv("ORCHESTRATOR_API_KEY", key)
    code, _, _ = await run_command(tickers.tickers, parse("qqq", "--url", url))
    assert code == 0


async def test_without_a_key_the_401_is_the_orchestrators_error_and_exit_1(guarded):
    url, _ = guarded
    code, _, err = await run_command(tickers.tickers, parse("qqq", "--url", url))
    assert code == 1 and "UNAUTHORIZED" in err


async def test_a_token_is_sent_as_a_bearer(guarded):
    url, key = guarded  # an API key is a bearer credential too: sent as --token, it is taken
    code, _, _ = await run_command(tickers.tickers, parse("qqq", "--url", url, "--token", key))
    assert code == 0


def test_api_key_and_token_together_are_refused():
    with pytest.raises(SystemExit):
        parse("qqq", "--api-key", "a", "--token", "b")
