"""What the yahoo provider (and its tests) reach for inside yfinance, where yfinance has no public door.

Everything else goes through yfinance's public API: ``Ticker.history``, ``Ticker.get_history_metadata``
(which, from 1.7, reads the metadata the last ``history`` call brought, with no request of its own),
``Search``, ``config`` and ``set_tz_cache_location``. Each assumption below has a test of its own in
``tests/services/test_yfinance_insides.py`` that names the yfinance release that broke it:

1. yfinance keeps Yahoo's answers for past ranges in memory, in a ``functools.lru_cache`` on
   ``yfinance.data.YfData.cache_get`` (up to 64), failed answers included (a truncated body, a 401
   refusal, a 404); its ``cache_clear()`` forgets them, so that the next call asks Yahoo again. The
   provider has a disk cache of its own, which keeps only answers it could read
   (:func:`forget_answers`).
2. For the tests only: yfinance's process-wide state is its session holder, the singleton
   ``YfData`` (kept in its metaclass's ``_instances``), its time zone cache
   (``yfinance.cache._TzCacheManager._tz_cache``) and a count of time zone lookups it fell back on
   (``yfinance.base._tz_info_fetch_ctr``); setting them back makes the process as if yfinance had
   just been imported (:func:`forget_process_state`).

If yfinance changes any of these, the provider still answers: forgetting does nothing (and a failed
answer may then be served again for a past range until it leaves yfinance's 64 entries), and the
tests of the assumption fail saying which release broke it.
"""

from __future__ import annotations

import contextlib
from types import ModuleType


def forget_answers(yf: ModuleType) -> None:
    """Empty yfinance's in-memory cache of Yahoo's answers (assumption 1)."""
    with contextlib.suppress(AttributeError):
        yf.data.YfData.cache_get.cache_clear()


def forget_process_state() -> None:
    """yfinance as just imported: no session holder, no time zone cache, no fallback (assumption 2)."""
    from yfinance import base, cache, data

    cache._TzCacheManager._tz_cache = None
    base._tz_info_fetch_ctr = 0
    type(data.YfData)._instances.pop(data.YfData, None)
