"""Never the same market data twice: identical calls in flight share one, answers are kept a while.

``store.py`` keeps answers (a bounded in-process store behind a small interface, so that a shared
store can take its place); ``calls.py`` serves a call from the store, from an identical call in
flight, or by making it, and decides how long an answer may be kept.
"""
