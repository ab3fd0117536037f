"""Reference implementations of the four services behind the orchestrator, so the platform runs offline.

Each is a small Starlette app speaking CONTRACTS.md section 2 over HTTP, and knows nothing of the
orchestrator: ``market_data`` (with the ``sample``, ``csv`` and test-data providers), ``strategy``,
``portfolio`` and ``metrics``. Serve one with ``python -m services NAME`` (see :mod:`services.cli`).
"""
