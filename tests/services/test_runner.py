"""``python -m services NAME``: serves over real HTTP and stops cleanly on SIGTERM or SIGINT."""

from __future__ import annotations

import argparse
import json
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from orchestrator.cli import dev
from orchestrator.cli.platform import free_port
from orchestrator.registry import SERVICES
from services.cli import FACTORIES, main, parse_args, port_of

ROOT = Path(__file__).resolve().parents[2]


def fetch(url: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=2) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def wait_healthy(process: subprocess.Popen[bytes], url: str, timeout_s: float = 15.0) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()[1].decode()
        try:
            return fetch(url + "/health")[1]
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"{url} never became healthy")


@pytest.mark.parametrize(
    ("name", "service", "stop"),
    [("strategy", "strategy", signal.SIGTERM), ("test_data", "test-data-fetcher", signal.SIGINT)],
)
def test_serves_and_stops_cleanly(name, service, stop):
    port = free_port()
    command = [sys.executable, "-m", "services", name, "--host", "127.0.0.1", "--port", str(port)]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        url = f"http://127.0.0.1:{port}"
        assert wait_healthy(process, url) == {"status": "healthy", "service": service}
        if name == "strategy":
            body = {"strategy_type": "nope", "config": {}, "price_data": []}
            status, answer = fetch(url + "/signals", body)
            assert status == 404 and answer["error"]["code"] == "STRATEGY_NOT_FOUND"
        else:
            body = {"ticker": "ANY", "start_date": "2024-01-01", "end_date": "2024-02-01"}
            status, answer = fetch(url + "/prices", body)
            assert status == 200 and len(answer["data"]["prices"]) == 20
        process.send_signal(stop)
        _, err = process.communicate(timeout=10)
        assert process.returncode == 0
        assert b"Traceback" not in err
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_serves_every_registry_service_and_nothing_else():
    assert set(FACTORIES) == {entry.name for entry in SERVICES}


def test_listens_where_orchestrator_dev_expects_each_service():
    """With no --port, each service takes the port `orchestrator dev` points the orchestrator at."""
    commands = argparse.ArgumentParser().add_subparsers()
    dev.register(commands)
    platform = dev.platform_for(commands.choices["dev"].parse_args([]))
    assert {name: port_of(parse_args([name])) for name in FACTORIES} == platform.ports


def test_an_explicit_port_wins():
    assert port_of(parse_args(["metrics", "--port", "9999"])) == 9999


def test_a_bad_provider_setting_exits_with_a_message(monkeypatch, capsys):
    monkeypatch.delenv("MARKET_DATA_DIR", raising=False)
    assert main(["market_data", "--provider", "csv"]) == 2
    assert "MARKET_DATA_DIR" in capsys.readouterr().err


def test_an_unknown_service_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["billing"])
    assert exit_.value.code == 2


def test_without_the_services_extra_it_says_what_to_install():
    # uvicorn made unimportable, as in the gateway's install
    script = (
        "import sys, runpy; sys.modules['uvicorn'] = None; runpy.run_module('services', run_name='__main__')"
    )
    done = subprocess.run([sys.executable, "-c", script, "strategy"], capture_output=True, text=True)
    assert done.returncode == 2
    assert "pip install 'backtest-orchestrator[services]'" in done.stderr and "Traceback" not in done.stderr
