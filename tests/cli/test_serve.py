"""``orchestrator serve``: how it sets up the process and the server before it serves."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from orchestrator.cli import workers
from orchestrator.settings import Settings
from orchestrator.web.server import listen_options

resource = pytest.importorskip("resource")


def test_the_listen_backlog_holds_a_burst_in_one_process_and_under_gunicorn():
    settings = Settings(edge={"backlog": 2048})
    assert listen_options(settings)["backlog"] == workers.gunicorn_options(settings)["backlog"] == 2048


def test_the_default_backlog_is_over_aiohttps_128():
    assert listen_options(Settings())["backlog"] >= 1000


def test_the_soft_file_limit_is_raised_to_the_hard_one():
    # in a child process: the limit is the process's own
    script = (
        "import json, resource\n"
        "hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]\n"
        "resource.setrlimit(resource.RLIMIT_NOFILE, (256, hard))\n"
        "from orchestrator.cli.serve import raise_file_limit\n"
        "print(json.dumps([raise_file_limit(), hard]))\n"
    )
    limits, hard = json.loads(
        subprocess.run([sys.executable, "-c", script], capture_output=True, check=True).stdout
    )
    assert limits == [hard, hard]
