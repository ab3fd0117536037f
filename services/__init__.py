"""Reference implementations of the four services behind the orchestrator, so the platform runs offline.

Each is a small Starlette app speaking the services' contract (``docs/contract.md``) over HTTP, and
knows nothing of the orchestrator: ``market_data`` (with the ``sample``, ``csv`` and test-data
providers), ``strategy``, ``portfolio`` and ``metrics``. Serve one with ``python -m services NAME``
(see :mod:`services.cli`, which reads the orchestrator's service registry, a table of names and
ports, so that both sides agree on where each service listens).
"""
