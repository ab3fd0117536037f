"""`orchestrator dev`: the whole platform up in one command, and down again on SIGTERM; without the
reference services' stack, a clear refusal before anything starts."""

from __future__ import annotations

import json
import random
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from orchestrator.cli import dev, main
from orchestrator.cli.platform import LocalPlatform, missing_modules


def _free_run(length: int) -> int:
    """The first of ``length`` consecutive free loopback ports."""
    for _ in range(50):
        first = random.randrange(20000, 60000)
        try:
            for port in range(first, first + length):
                with socket.socket() as probe:
                    probe.bind(("127.0.0.1", port))
        except OSError:
            continue
        return first
    raise RuntimeError("no run of free ports")


def _get(url: str) -> tuple[int, dict]:
    with urllib.request.urlopen(url, timeout=5) as answer:
        return answer.status, json.loads(answer.read())


def _wait_for_banner(process: subprocess.Popen[str], deadline_s: float = 60) -> str:
    seen, end = [], time.monotonic() + deadline_s
    while time.monotonic() < end:
        line = process.stdout.readline()
        seen.append(line)
        if "Ctrl-C stops everything" in line:
            return "".join(seen)
    raise AssertionError("no banner:\n" + "".join(seen))


def test_dev_brings_the_platform_up_and_stops_it_on_sigterm():
    first = _free_run(6)
    port, services_port = first, first + 1
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "orchestrator",
            "dev",
            "--port",
            str(port),
            "--services-port",
            str(services_port),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        banner = _wait_for_banner(process)
        assert f"http://127.0.0.1:{port}/" in banner
        assert "synthetic sample data on the NYSE's sessions" in banner
        status, health = _get(f"http://127.0.0.1:{port}/api/health")
        assert (status, health["status"]) == (200, "healthy")
        process.send_signal(signal.SIGTERM)
        assert process.wait(30) == 0
    finally:
        if process.poll() is None:
            process.kill()
    for service_port in range(services_port, services_port + 5):
        with socket.socket() as probe:
            assert probe.connect_ex(("127.0.0.1", service_port)) != 0, f"port {service_port} still served"


@pytest.mark.parametrize(
    ("provider", "said"),
    [
        ("yahoo", "real prices from Yahoo Finance"),
        ("csv", "prices from the CSV files in /data"),
        ("", "synthetic sample data"),
    ],
)
def test_the_banner_says_what_market_data_is_served(monkeypatch, provider, said):
    monkeypatch.setenv("MARKET_DATA_PROVIDER", provider)
    monkeypatch.setenv("MARKET_DATA_DIR", "/data")
    assert said in dev._market_data()


def test_dev_without_the_services_stack_stops_at_once_naming_the_extra(monkeypatch, capsys):
    """Simulated: one module of the stack is looked for under a name no package has."""
    monkeypatch.setattr(dev, "SERVICES_STACK", ("starlette", "no_such_module_of_the_services_stack"))

    def start(*_args, **_kwargs):
        raise AssertionError("a process was started")

    monkeypatch.setattr(LocalPlatform, "start", start)
    assert main(["dev", "--port", "1", "--services-port", "2"]) == 2
    said = capsys.readouterr().err
    assert "no_such_module_of_the_services_stack" in said
    assert "starlette" not in said  # installed: only what is missing is named
    assert "pip install 'backtest-orchestrator[services]'" in said


def test_missing_modules_names_those_not_installed_in_their_order():
    assert missing_modules(["no_such_module_b", "json", "no_such_module_a"]) == [
        "no_such_module_b",
        "no_such_module_a",
    ]


def test_the_services_stack_is_installed_for_the_tests():
    assert missing_modules(dev.SERVICES_STACK) == []
