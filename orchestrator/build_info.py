"""What this build is, said where users and operators look: ``orchestrator --version``, ``GET /health``,
the ``orchestrator_build_info`` metric, and the OpenAPI document's ``info.version``.

The version has one source, ``orchestrator.__version__``: setup.cfg reads it for the distribution's
metadata (``version = attr:``), and the code reads it here. Not ``importlib.metadata``, which reads
what was last installed: an editable install keeps the version it was installed at, and a source tree
on ``PYTHONPATH`` has none.

The commit is known only where the build said it: the ``GIT_COMMIT`` environment variable, which the
image sets from its build argument of the same name (Dockerfile; ``.ci/container`` passes
``git rev-parse HEAD``). Elsewhere it is None: a wheel carries no commit, and asking git at run time
would describe whatever checkout happens to be the working directory.
"""

from __future__ import annotations

import os
import platform
from collections.abc import Mapping
from dataclasses import dataclass

from orchestrator import __version__

#: The environment variable naming the commit the running code was built from.
COMMIT_VARIABLE = "GIT_COMMIT"


@dataclass(frozen=True, slots=True)
class BuildInfo:
    version: str
    #: None where the build did not say (see above).
    commit: str | None
    #: The interpreter's version, e.g. ``3.11.2``.
    python: str

    def describe(self) -> str:
        """One line for people: ``orchestrator 0.1.0``, with ``(commit ...)`` where it is known."""
        line = f"orchestrator {self.version}"
        return f"{line} (commit {self.commit})" if self.commit else line


def build_info(environ: Mapping[str, str] = os.environ) -> BuildInfo:
    """This build, the commit read from ``environ``'s ``GIT_COMMIT`` (blank counts as unset)."""
    commit = environ.get(COMMIT_VARIABLE, "").strip() or None
    return BuildInfo(version=__version__, commit=commit, python=platform.python_version())
