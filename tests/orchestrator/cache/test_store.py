"""The in-process store: kept for its time to live, least recently used out first, within its bounds."""

from __future__ import annotations

from orchestrator.cache.store import MemoryStore


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def store(max_entries: int = 10, max_bytes: int = 1000) -> tuple[MemoryStore, Clock]:
    clock = Clock()
    return MemoryStore(max_entries, max_bytes, clock), clock


def test_a_value_is_kept_for_its_time_to_live():
    kept, clock = store()
    kept.put("a", "value", size=10, ttl_s=60)
    clock.now = 59.9
    assert kept.get("a") == "value"


def test_a_value_past_its_time_to_live_is_gone_and_its_bytes_freed():
    kept, clock = store()
    kept.put("a", "value", size=10, ttl_s=60)
    clock.now = 60
    assert (kept.get("a"), len(kept), kept.nbytes) == (None, 0, 0)


def test_past_the_entry_bound_the_least_recently_used_goes_first():
    kept, _ = store(max_entries=2)
    kept.put("a", 1, size=1, ttl_s=60)
    kept.put("b", 2, size=1, ttl_s=60)
    kept.get("a")  # a is now the more recently used
    kept.put("c", 3, size=1, ttl_s=60)
    assert (kept.get("a"), kept.get("b"), kept.get("c")) == (1, None, 3)


def test_past_the_byte_bound_entries_go_until_it_fits():
    kept, _ = store(max_bytes=100)
    for key in "abc":
        kept.put(key, key, size=40, ttl_s=60)
    assert (kept.get("a"), kept.get("b"), kept.get("c"), kept.nbytes) == (None, "b", "c", 80)


def test_a_value_larger_than_the_byte_bound_is_not_kept_and_pushes_nothing_out():
    kept, _ = store(max_bytes=100)
    kept.put("small", 1, size=10, ttl_s=60)
    kept.put("huge", 2, size=101, ttl_s=60)
    assert (kept.get("huge"), kept.get("small"), kept.nbytes) == (None, 1, 10)


def test_putting_a_key_again_replaces_it_and_its_size():
    kept, _ = store()
    kept.put("a", 1, size=10, ttl_s=60)
    kept.put("a", 2, size=30, ttl_s=60)
    assert (kept.get("a"), len(kept), kept.nbytes) == (2, 1, 30)
