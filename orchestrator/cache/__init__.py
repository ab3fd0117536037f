"""Never the same market data twice: identical calls in flight share one, answers are kept a while.

``store.py`` keeps answers (a bounded in-process store behind a small interface); ``calls.py``
serves a call from the store, from an identical call in flight, or by making it, and decides how
long an answer may be kept; with ``REDIS_URL``, ``shared.py`` keeps market data in Redis too, so
that replicas share it and coalesce their calls, and ``codecs.py`` turns it into bytes and back.
"""
