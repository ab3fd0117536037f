"""Jobs: sweeps and comparisons too large for one request, run as durable jobs by every process.

A job is cut into shards (ranges of indices into its grid's product, made lazily); every
orchestrator process runs a :class:`~orchestrator.jobs.runner.Worker` that claims shards, runs their
settings through ``research/`` and keeps each result in the job's store as it is made. With
``REDIS_URL`` the queue is a Redis stream per job read by one consumer group (``redis_queue.py``)
and the store is Redis (``redis_store.py``); without it, both live in the process
(``memory_queue.py``, ``memory_store.py``) behind the same interfaces (``backend.py``).
"""
