"""The images the Dockerfile builds, run for real: each reference service in a container of the
platform image and the orchestrator in one of the gateway image, on the host network; a backtest
through them, the user they run as, the health check, and what the gateway image leaves out.

``.ci/container build`` makes both images, even on a machine that reaches no image registry
(docs/operations.md, "Container"). These tests run only when selected (``pytest -m container``), so
``make test`` never waits on an engine; selected where no engine answers or an image is missing,
they skip saying so, unless ``REQUIRE_CONTAINER`` is set (CI), where a skip would hide a failure.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

import orchestrator
from orchestrator.cli.platform import free_port
from orchestrator.registry import SERVICES
from tests.requests import TQQQ

pytestmark = pytest.mark.container

IMAGE = os.environ.get("CONTAINER_IMAGE", "backtest-orchestrator:local")  # the gateway (default target)
PLATFORM_IMAGE = os.environ.get("CONTAINER_PLATFORM_IMAGE", "backtest-platform:local")  # with the services
IMAGES = (IMAGE, PLATFORM_IMAGE)
#: The reference services' stack (the services extra, and what it brings) and the yahoo extra's.
SERVICES_STACK = {"pandas", "numpy", "starlette", "uvicorn", "exchange-calendars"}
YAHOO = {"yfinance"}
HOST = "127.0.0.1"  # on the host network, so the services are reachable from here only


def docker(*args: str, timeout: float = 120) -> str:
    done = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise RuntimeError(f"docker {' '.join(args)} exited {done.returncode}: {done.stderr.strip()}")
    return done.stdout.strip()


def _why_not() -> str | None:
    """Why these tests cannot run here, or None."""
    if shutil.which("docker") is None:
        return "no docker command: .ci/container build installs Debian's docker.io and starts dockerd"
    try:
        docker("info", timeout=20)
    except (RuntimeError, subprocess.TimeoutExpired):
        return "no Docker engine answers: .ci/container engine starts one"
    for image in IMAGES:
        try:
            docker("image", "inspect", image, timeout=20)
        except RuntimeError:
            return f"no image {image}: .ci/container build makes it"
    return None


@pytest.fixture(scope="module", autouse=True)
def _selected(request: pytest.FixtureRequest) -> None:
    if "container" not in (request.config.getoption("markexpr") or ""):
        pytest.skip("runs in its own step: `.ci/container build`, then `pytest -m container`")
    reason = _why_not()
    if reason is not None:
        if os.environ.get("REQUIRE_CONTAINER"):
            pytest.fail(f"REQUIRE_CONTAINER is set, but {reason}")
        pytest.skip(reason)


@dataclass
class ContainerPlatform:
    url: str = ""
    #: Container ids by role: each service's name, and "orchestrator".
    containers: dict[str, str] = field(default_factory=dict)

    def run(self, role: str, *args: str) -> None:
        self.containers[role] = docker("run", "--detach", "--network", "host", *args)

    def logs(self) -> str:
        """The end of every container's log, for a failure's message."""
        parts = []
        for role, container in self.containers.items():
            state = docker("inspect", "--format", "{{.State.Status}} (exit {{.State.ExitCode}})", container)
            tail = subprocess.run(["docker", "logs", "-n", "20", container], capture_output=True, text=True)
            parts.append(f"--- {role}: {state}\n{tail.stdout}{tail.stderr}")
        return "\n".join(parts)

    def wait_healthy(self, urls: dict[str, str], timeout_s: float = 60) -> None:
        deadline = time.monotonic() + timeout_s
        for role, url in urls.items():
            while not _answers(url):
                running = docker("inspect", "--format", "{{.State.Running}}", self.containers[role])
                if running != "true" or time.monotonic() > deadline:
                    pytest.fail(f"{role} did not answer {url}\n{self.logs()}")
                time.sleep(0.2)

    def remove(self) -> None:
        if self.containers:
            docker("rm", "--force", *self.containers.values())
        self.containers.clear()


@pytest.fixture(scope="module")
def platform(_selected: None) -> Iterator[ContainerPlatform]:
    """The reference services (platform image) and the orchestrator (gateway image), each in a container,
    on free ports."""
    running = ContainerPlatform()
    try:
        ports = {entry.name: free_port() for entry in SERVICES}
        for entry in SERVICES:  # each container a copy of the image on vfs: a few seconds (in parallel too)
            serve = ["-m", "services", entry.name, "--host", HOST, "--port", str(ports[entry.name])]
            # The image's health check is the orchestrator's; compose gives the services their own.
            running.run(entry.name, "--no-healthcheck", PLATFORM_IMAGE, "python", *serve)
        wiring = {entry.url_variable: f"http://{HOST}:{ports[entry.name]}" for entry in SERVICES}
        port = free_port()
        settings = wiring | {"HOST": HOST, "PORT": str(port), "LOG_LEVEL": "WARNING"}
        running.run("orchestrator", *(f"--env={name}={value}" for name, value in settings.items()), IMAGE)
        running.url = f"http://{HOST}:{port}"
        health = {entry.name: f"{wiring[entry.url_variable]}{entry.health_path}" for entry in SERVICES}
        running.wait_healthy(health | {"orchestrator": f"{running.url}/health"})
        yield running
    finally:
        running.remove()


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as answer:
            return answer.status == 200
    except (urllib.error.URLError, OSError):
        return False


def request(url: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    sent = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(sent, timeout=60) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_a_backtest_passes_through_the_platform_in_containers(platform: ContainerPlatform) -> None:
    status, body = request(platform.url + "/api/backtest", TQQQ)
    assert (status, body.get("success")) == (200, True), f"{body}\n{platform.logs()}"
    data = body["data"]
    active, baseline = data["active_strategy"], data["baseline_strategy"]
    assert data["metadata"]["data_points"] == 505  # the NYSE's sessions
    assert active["summary"]["total_trades"] == len(active["trades"]) > 0
    assert baseline["summary"]["total_trades"] == 1


def test_the_orchestrator_sees_every_service(platform: ContainerPlatform) -> None:
    status, body = request(platform.url + "/api/health")
    assert (status, body["status"]) == (200, "healthy"), body


def test_every_container_runs_as_the_images_non_root_user(platform: ContainerPlatform) -> None:
    for image in IMAGES:
        user = docker("image", "inspect", "--format", "{{.Config.User}}", image)
        assert user not in ("", "root", "0"), f"{image} runs as {user or 'root (no USER)'}"
    for role, container in platform.containers.items():
        uid = docker("exec", container, "id", "-u")
        assert uid != "0", f"{role} runs as root"


def test_the_health_check_reports_healthy(platform: ContainerPlatform) -> None:
    """The image's own HEALTHCHECK, at its own interval, in the orchestrator's container."""
    container = platform.containers["orchestrator"]
    assert docker("image", "inspect", "--format", "{{json .Config.Healthcheck}}", IMAGE) != "null"
    deadline = time.monotonic() + 90
    while (status := docker("inspect", "--format", "{{.State.Health.Status}}", container)) != "healthy":
        health = docker("inspect", "--format", "{{json .State.Health}}", container)
        assert status in ("starting", "") and time.monotonic() < deadline, f"{status}: {health}"
        time.sleep(1)


def test_the_image_says_the_version_and_the_commit_it_was_built_from(_selected: None) -> None:
    """``.ci/container build`` passes ``git rev-parse HEAD`` as the GIT_COMMIT build argument."""
    head = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout
    shown = docker("run", "--rm", "--network", "host", IMAGE, "orchestrator", "--version")
    assert shown == f"orchestrator {orchestrator.__version__} (commit {head.strip()})"


def installed(image: str) -> set[str]:
    """The distributions installed in the image's Python, by canonical name (PEP 503)."""
    script = (
        "import importlib.metadata as m, json, re\n"
        "print(json.dumps([re.sub(r'[-_.]+', '-', d.metadata['Name']).lower() for d in m.distributions()]))"
    )
    return set(json.loads(docker("run", "--rm", "--network", "host", image, "python", "-c", script)))


def test_the_gateway_image_holds_none_of_the_services_stack(_selected: None) -> None:
    gateway = installed(IMAGE)
    assert {"backtest-orchestrator", "aiohttp", "gunicorn"} <= gateway  # the list was read
    assert gateway & (SERVICES_STACK | YAHOO) == set()


def test_the_platform_image_holds_the_services_stack_and_not_yfinance(_selected: None) -> None:
    platform = installed(PLATFORM_IMAGE)
    assert {"backtest-orchestrator", *SERVICES_STACK} <= platform
    assert platform & YAHOO == set()


def test_orchestrator_dev_in_the_gateway_image_says_which_extra_to_install(_selected: None) -> None:
    """What the services' stack missing looks like for real: exit 2 and the install line, no traceback."""
    name = f"dev-{uuid.uuid4().hex[:12]}"
    command = ["docker", "run", "--name", name, "--network", "host", IMAGE, "orchestrator", "dev"]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=60)
    finally:  # a dev that started the platform instead would run on
        subprocess.run(["docker", "rm", "--force", name], capture_output=True)
    assert done.returncode == 2, done.stderr
    assert "pip install 'backtest-orchestrator[services]'" in done.stderr
    assert "Traceback" not in done.stderr
