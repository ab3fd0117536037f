"""The orchestrator's HTTP API from Python, as the command line uses it.

- ``api.py``: :class:`OrchestratorClient`, a method per route (streamed or not), one HTTP session.
- ``answers.py``: what an answer amounts to, the success envelope or :class:`Failed` in words.
- ``sse.py``: the Server-Sent Events parser (the tests read the orchestrator's streams with it too).

It imports nothing of the server: the command line loads it without the web layer.
"""

from orchestrator.client.answers import Failed
from orchestrator.client.api import Handlers, OnEvent, OrchestratorClient, Reply

__all__ = ["Failed", "Handlers", "OnEvent", "OrchestratorClient", "Reply"]
