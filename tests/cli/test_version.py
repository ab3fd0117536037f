"""``orchestrator --version``: the version (and the commit where known), then exit 0."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import orchestrator
from orchestrator.cli import main


def test_version_prints_the_version_and_exits_0(capsys, monkeypatch):
    monkeypatch.delenv("GIT_COMMIT", raising=False)
    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out == f"orchestrator {orchestrator.__version__}\n"


def test_the_installed_command_prints_the_commit_it_was_given():
    """The console script setup.cfg installs, in a process of its own, as a user runs it."""
    command = Path(sys.executable).with_name("orchestrator")
    env = {**os.environ, "GIT_COMMIT": "0123abc"}
    done = subprocess.run([command, "--version"], env=env, capture_output=True, text=True, check=True)
    assert done.stdout == f"orchestrator {orchestrator.__version__} (commit 0123abc)\n"
