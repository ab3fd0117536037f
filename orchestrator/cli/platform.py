"""The whole platform on loopback: the reference services and the orchestrator, as child processes.

The orchestrator only ever speaks HTTP to the services; this launcher knows them from the service
registry, by the command that starts them (``python -m services NAME``) and the port it gives each.
The services need libraries the gateway does not (the ``services`` extra): :func:`missing_modules`
says which of them this interpreter lacks, before any process is started.
"""

from __future__ import annotations

import importlib.util
import os
import random
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from orchestrator.registry import ORCHESTRATOR_PORT, SERVICES

#: How many ports below the system's range for outgoing connections a free port is drawn from.
_SPAN = 10_000

#: The modules of the reference services' own stack: the ``services`` extra of setup.cfg, which
#: the gateway's install leaves out (tests/test_packaging.py checks the two name the same libraries).
SERVICES_STACK = ("starlette", "uvicorn", "exchange_calendars")
INSTALL_SERVICES = "pip install 'backtest-orchestrator[services]'"


def missing_modules(names: Iterable[str]) -> list[str]:
    """Those of ``names`` this interpreter cannot import. Found, not imported: checking
    ``exchange_calendars`` loads no pandas."""
    return [name for name in names if importlib.util.find_spec(name) is None]


def free_port(host: str = "127.0.0.1") -> int:
    """A port free now, for a server started next. Drawn at random below the range the system gives
    outgoing connections: a port from that range (``bind(0)``'s) can be taken by any client's
    connection before the server binds it, which busy benchmarks do."""
    first_outgoing = _outgoing_ports()[0]
    for _ in range(100):
        port = random.randint(max(1024, first_outgoing - _SPAN), first_outgoing - 1)
        with socket.socket() as probe:
            try:
                probe.bind((host, port))
            except OSError:
                continue
            return port
    with socket.socket() as probe:  # no luck below the range: any free port
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def _outgoing_ports() -> tuple[int, int]:
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as given:
            low, high = (int(value) for value in given.read().split())
    except (OSError, ValueError):
        return 32768, 60999  # Linux's default
    return low, high


@dataclass
class LocalPlatform:
    host: str = "127.0.0.1"
    ports: dict[str, int] = field(default_factory=lambda: {s.name: s.default_port for s in SERVICES})
    orchestrator_port: int = ORCHESTRATOR_PORT
    env: Mapping[str, str] = field(default_factory=dict)
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    @classmethod
    def on_free_ports(cls, host: str = "127.0.0.1", env: Mapping[str, str] | None = None) -> LocalPlatform:
        ports = {entry.name: free_port() for entry in SERVICES}
        return cls(host, ports, orchestrator_port=free_port(), env=env or {})

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.orchestrator_port}"

    def service_url(self, name: str) -> str:
        return f"http://{self.host}:{self.ports[name]}"

    def start(self, timeout_s: float = 30.0) -> None:
        """Start every process and wait until each answers ``/health``; stop them all on failure."""
        try:
            for entry in SERVICES:
                port = str(self.ports[entry.name])
                self._spawn(entry.name, ["-m", "services", entry.name, "--host", self.host, "--port", port])
            self._spawn(
                "orchestrator",
                ["-m", "orchestrator", "serve", "--host", self.host, "--port", str(self.orchestrator_port)],
            )
            self._wait_healthy(time.monotonic() + timeout_s)
        except BaseException:
            self.stop()
            raise

    def _spawn(self, name: str, args: list[str]) -> None:
        env = {**os.environ, **self.wiring(), **self.env}
        self.processes[name] = subprocess.Popen([sys.executable, *args], env=env)

    def wiring(self) -> dict[str, str]:
        """The environment that points the orchestrator at each service (``MARKET_DATA_URL``, ...)."""
        return {entry.url_variable: self.service_url(entry.name) for entry in SERVICES}

    def _wait_healthy(self, deadline: float) -> None:
        checks = {entry.name: self.service_url(entry.name) + entry.health_path for entry in SERVICES}
        for name, url in (checks | {"orchestrator": self.url + "/health"}).items():
            while not _healthy(url):
                if self.processes[name].poll() is not None:
                    raise RuntimeError(f"{name} exited with code {self.processes[name].returncode}")
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{name} did not become healthy at {url}")
                time.sleep(0.1)

    def exited(self) -> list[str]:
        """Names of the processes that have stopped on their own."""
        return [name for name, process in self.processes.items() if process.poll() is not None]

    def stop(self, grace_s: float = 10.0) -> None:
        """SIGTERM every process (the orchestrator first, so no request reaches a stopped service)."""
        for name in ["orchestrator", *(entry.name for entry in SERVICES)]:
            process = self.processes.get(name)
            if process is not None and process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(grace_s)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        self.processes.clear()


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as answer:
            return bool(answer.status == 200)  # urlopen's answer is typed Any
    except (urllib.error.URLError, OSError):
        return False
