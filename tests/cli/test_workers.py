"""`orchestrator serve --workers N`: gunicorn's settings, all taken from ours (the processes: e2e)."""

from __future__ import annotations

import os
import shutil
import sys

import pytest
from aiohttp import web

from orchestrator.cli import main, workers
from orchestrator.settings import Settings
from orchestrator.web.protocol import EdgeRequestHandler
from orchestrator.web.server import EdgeServer


def test_binds_host_and_port_from_the_settings():
    assert workers.gunicorn_options(Settings(host="10.0.0.5", port=9000))["bind"] == ["10.0.0.5:9000"]
    assert workers.gunicorn_options(Settings(host="::", port=8011))["bind"] == ["[::]:8011"]


@pytest.mark.parametrize("grace_s", [0.5, 20.0, 100.0])
def test_gunicorn_waits_longer_than_the_drain_before_it_kills_a_worker(grace_s):
    options = workers.gunicorn_options(Settings(drain={"grace_s": grace_s}))
    shutdown_s = grace_s + 5  # aiohttp's own shutdown timeout, after the drain's grace
    assert options["graceful_timeout"] >= shutdown_s + workers.SHUTDOWN_MARGIN_S
    assert options["timeout"] == options["graceful_timeout"]  # a draining worker is never "silent"


def test_runs_aiohttps_uvloop_worker_when_uvloop_imports():
    pytest.importorskip("uvloop")
    assert workers.worker_class() == "aiohttp.worker.GunicornUVLoopWebWorker"


def test_runs_aiohttps_asyncio_worker_without_uvloop(monkeypatch):
    monkeypatch.setitem(sys.modules, "uvloop", None)  # import uvloop raises ImportError
    assert workers.worker_class() == "aiohttp.worker.GunicornWebWorker"


def test_gunicorn_reads_only_our_settings(monkeypatch):
    monkeypatch.setenv("GUNICORN_CMD_ARGS", "--workers 7 --bind 0.0.0.0:1")
    cfg = workers.Workers(Settings(workers=3, host="127.0.0.1", port=8123)).cfg
    assert (cfg.workers, cfg.address, cfg.worker_class_str) == (
        3,
        [("127.0.0.1", 8123)],
        workers.worker_class(),
    )
    assert cfg.proc_name == "orchestrator"


async def test_each_worker_serves_as_serve_does(monkeypatch):
    for name in ("configure_logging", "tag_lines_with_pid", "tune_garbage_collection"):
        monkeypatch.setattr(workers, name, lambda *args, **kwargs: None)  # this process's, untouched
    settings = Settings(edge={"header_timeout_s": 3.5, "max_headers": 40})
    runner = await workers.Workers(settings).load()()
    await runner.setup()
    try:
        assert isinstance(runner, web.AppRunner)  # what aiohttp's worker serves as it is
        assert isinstance(runner.server, EdgeServer)
        assert runner.server.handler_cancellation is True
        handler = runner.server()  # a connection's handler: the edge's, with the settings' limits
        assert isinstance(handler, EdgeRequestHandler)
        assert (runner.server.edge.header_timeout_s, handler.max_headers) == (3.5, 40)
        assert handler.access_logger is None  # the canonical line replaces it
    finally:
        await runner.cleanup()


def test_refuses_fewer_than_one_worker(capsys):
    assert main(["serve", "--workers", "0"]) == 2
    assert "WORKERS" in capsys.readouterr().err


def serve_workers_command(monkeypatch, settings: Settings) -> list[str]:
    """What ``serve_workers`` would exec, instead of exec'ing it."""
    execs: list[list[str]] = []
    monkeypatch.setattr(os, "execv", lambda _path, command: execs.append(command))
    workers.serve_workers(settings)
    return execs[0]


def test_the_master_gets_a_metrics_directory_of_its_own_which_it_removes(monkeypatch):
    monkeypatch.setenv(workers.METRICS_DIR, "")  # unset, in effect; and unset again after the test
    command = serve_workers_command(monkeypatch, Settings(workers=2, host="127.0.0.1", port=8123))
    made = os.environ[workers.METRICS_DIR]
    shutil.rmtree(made)
    assert command[1:] == [
        *("-m", "orchestrator.cli.workers", "--host", "127.0.0.1", "--port", "8123", "--workers", "2"),
        "--remove-metrics-dir",
    ]


def test_a_metrics_directory_given_is_emptied_of_an_earlier_run_and_kept(monkeypatch, tmp_path):
    (tmp_path / "counter_123.db").write_bytes(b"old")
    (tmp_path / "notes.txt").write_text("not ours")
    monkeypatch.setenv(workers.METRICS_DIR, str(tmp_path))
    command = serve_workers_command(monkeypatch, Settings(workers=2))
    assert sorted(path.name for path in tmp_path.iterdir()) == ["notes.txt"]
    assert "--remove-metrics-dir" not in command
