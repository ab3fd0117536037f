"""What this build is: the package's version, the commit where the build said it, the interpreter."""

from __future__ import annotations

import platform

import orchestrator
from orchestrator.build_info import BuildInfo, build_info


def test_the_version_is_the_packages():
    assert build_info({}).version == orchestrator.__version__


def test_the_commit_is_read_from_git_commit():
    assert build_info({"GIT_COMMIT": "0123abc\n"}).commit == "0123abc"


def test_no_commit_without_git_commit():
    assert build_info({}).commit is None


def test_a_blank_git_commit_is_no_commit():
    """What the image holds when its build argument was not given (``ENV GIT_COMMIT=``)."""
    assert build_info({"GIT_COMMIT": " "}).commit is None


def test_the_python_is_this_interpreters():
    assert build_info({}).python == platform.python_version()


def test_it_is_described_with_the_commit_only_where_known():
    assert BuildInfo("1.2.3", None, "3.11.2").describe() == "orchestrator 1.2.3"
    assert BuildInfo("1.2.3", "0123abc", "3.11.2").describe() == "orchestrator 1.2.3 (commit 0123abc)"
