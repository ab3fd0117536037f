"""The orchestrator's HTTP API from Python: the command line's client, and a notebook's.

- ``api.py``: :class:`OrchestratorClient`, a method per route (streamed or not), one HTTP session;
  the job methods answer the API's models (``orchestrator.schemas.jobs``).
- ``jobs.py``: a job stream's events typed (:class:`JobEvent`), the ranked table as a DataFrame.
- ``answers.py``: what an answer amounts to, the success envelope or :class:`Failed` in words.
- ``sse.py``: the Server-Sent Events parser (the tests read the orchestrator's streams with it too).

It imports nothing of the server: the command line loads it without the web layer. The job models
are the API's (``orchestrator.schemas``, which brings the error tree and the limits with it), so
they load when first used: ``from orchestrator.client import Job``, or a job method's first call.
"""

from typing import TYPE_CHECKING, Any

from orchestrator.client.answers import Failed
from orchestrator.client.api import Handlers, OnEvent, OrchestratorClient, Reply

if TYPE_CHECKING:
    from orchestrator.client.jobs import (
        Job,
        JobEvent,
        JobProgress,
        JobResults,
        JobSummary,
        RankedSweepRow,
        SweepRow,
    )

_MODELS = {"Job", "JobEvent", "JobProgress", "JobResults", "JobSummary", "RankedSweepRow", "SweepRow"}


def __getattr__(name: str) -> Any:
    """The job models, imported on first use (PEP 562)."""
    if name in _MODELS:
        from orchestrator.client import jobs

        return getattr(jobs, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "Failed",
    "Handlers",
    "Job",
    "JobEvent",
    "JobProgress",
    "JobResults",
    "JobSummary",
    "OnEvent",
    "OrchestratorClient",
    "RankedSweepRow",
    "Reply",
    "SweepRow",
]
