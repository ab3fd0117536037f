"""API keys (``auth/api_keys.py``): made once, kept as hashes, checked, read again when changed."""

from __future__ import annotations

import asyncio
import stat

import pytest
from redis.asyncio import Redis
from structlog.testing import capture_logs

from orchestrator.auth import api_keys
from orchestrator.auth.config import Quota


def test_a_new_key_is_checked_against_its_record():
    key, record = api_keys.new_key("desk", ["backtest"], Quota(burst=5))
    found = api_keys.check(key, {record.id: record})
    assert found == record
    caller = found.caller()
    assert (caller.tenant, caller.scopes, caller.key_id, caller.quota) == (
        "desk",
        frozenset({"backtest"}),
        record.id,
        Quota(burst=5),
    )


def test_the_record_holds_the_hash_never_the_key():
    key, record = api_keys.new_key("desk")
    assert key not in record.model_dump_json()
    assert record.hash == api_keys.digest(key) and record.hash.startswith("sha256:")


@pytest.mark.parametrize("position", [4, 10, 17, 30, -1], ids=["id", "id end", "secret", "middle", "last"])
def test_a_key_with_any_character_changed_is_refused(position):
    key, record = api_keys.new_key("desk")
    at = position % len(key)
    changed = key[:at] + ("0" if key[at] != "0" else "1") + key[at + 1 :]
    assert api_keys.check(changed, {record.id: record}) is None


@pytest.mark.parametrize("key", ["", "bto_", "bto_nothex", "something else entirely"])
def test_what_is_not_a_key_is_refused(key):
    _, record = api_keys.new_key("desk")
    assert api_keys.check(key, {record.id: record}) is None


def test_the_file_is_written_for_its_owner_only_and_read_back(tmp_path):
    path = tmp_path / "keys.json"
    _, record = api_keys.new_key("desk")
    api_keys.write_file(path, {record.id: record})
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert api_keys.read_file(path) == {record.id: record}


def test_a_missing_file_holds_no_keys(tmp_path):
    assert api_keys.read_file(tmp_path / "none.json") == {}


async def test_the_store_reads_the_file_again_when_it_changes(tmp_path):
    path = tmp_path / "keys.json"
    key, record = api_keys.new_key("desk")
    api_keys.write_file(path, {record.id: record})
    store = api_keys.KeyStore(path)
    await store.load()
    watching = asyncio.create_task(store.watch())
    try:
        assert store.check(key) is not None
        api_keys.write_file(path, {})
        for _ in range(40):
            if store.check(key) is None:
                break
            await asyncio.sleep(0.05)
        assert store.check(key) is None
    finally:
        watching.cancel()


async def test_a_broken_file_keeps_the_keys_read_before(tmp_path):
    path = tmp_path / "keys.json"
    key, record = api_keys.new_key("desk")
    api_keys.write_file(path, {record.id: record})
    store = api_keys.KeyStore(path)
    await store.load()
    path.write_text("{not json")
    await store.load()
    assert store.check(key) is not None


async def test_redis_away_is_one_warning_for_the_outage_and_the_keys_are_kept(tmp_path):
    path = tmp_path / "keys.json"
    key, record = api_keys.new_key("desk")
    api_keys.write_file(path, {record.id: record})
    away = Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2)
    store = api_keys.KeyStore(path, away)
    try:
        with capture_logs() as logs:
            for _ in range(3):
                await store.load()
    finally:
        await away.aclose()
    assert [entry["event"] for entry in logs if entry["log_level"] == "warning"] == [
        "api keys unreadable from redis; the keys read before are kept"
    ]
    assert store.check(key) is not None
