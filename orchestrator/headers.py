"""The HTTP headers the orchestrator defines itself, each named once.

A caller sends them to us (``web/``), we send them to the services (``clients/``), and the API's
document and the CORS rules name them (``web/openapi/``, ``web/app.py``): all read the name here.
"""

from __future__ import annotations

#: Whole milliseconds the receiver has to answer: a caller may give a backtest less than the
#: configured deadline, and each attempt tells its service how long we will wait for it.
REQUEST_TIMEOUT_MS = "X-Request-Timeout-Ms"
