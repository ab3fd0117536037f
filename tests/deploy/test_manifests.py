"""The Kubernetes manifests of ``deploy/``: valid against the API's schemas, and true to the app.

Every document is checked against the schemas that ``kubernetes-validate`` ships (strict: an unknown
or misspelt field is an error), offline. The other tests hold the manifests to what the app does:
the probes are routes it answers, the ports are the ones it listens on, the pod outlives the drain,
the selectors pick the right pods, the pods run as the image's non-root user.
"""

from __future__ import annotations

import copy
import os
import re
from functools import cache
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from aiohttp.test_utils import make_mocked_request

from orchestrator.registry import ORCHESTRATOR_PORT, SERVICES, ServiceEntry
from orchestrator.settings import Settings
from orchestrator.web.app import create_app
from orchestrator.web.routes import health
from services.cli import parse_args

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
#: The Kubernetes version the manifests are checked against: the oldest we claim to run on.
KUBERNETES_VERSION = "1.30"
#: What the pod must still be given after the preStop sleep and the drain: `orchestrator serve`
#: allows handlers 5 s more once the drain is over, then closes the services' sessions.
SHUTDOWN_HEADROOM_S = 10
#: The orchestrator's highest measured peak memory, a thousand backtests in flight with the cache
#: (docs/performance.md: 269-290 MB); its memory limit must leave room above it.
MEASURED_PEAK_BYTES = 290 * 10**6

Manifest = dict[str, Any]


@cache
def _documents() -> tuple[tuple[str, Manifest], ...]:
    """Every object of every YAML file under deploy/, named ``path#index``."""
    found = []
    for path in sorted([*DEPLOY.rglob("*.yaml"), *DEPLOY.rglob("*.yml")]):
        for index, document in enumerate(yaml.safe_load_all(path.read_text())):
            if document:
                found.append((f"{path.relative_to(DEPLOY)}#{index}", document))
    return tuple(found)


def _all(kind: str) -> list[Manifest]:
    return [document for _, document in _documents() if document["kind"] == kind]


def _one(kind: str, name: str) -> Manifest:
    (found,) = [document for document in _all(kind) if document["metadata"]["name"] == name]
    return found


def _orchestrator() -> Manifest:
    return _one("Deployment", "orchestrator")


def _container(deployment: Manifest) -> Manifest:
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    return container


def _container_port(container: Manifest, port: int | str) -> int:
    """A port of the container, given by number or by name, as a number."""
    if isinstance(port, int):
        return port
    (number,) = [entry["containerPort"] for entry in container["ports"] if entry.get("name") == port]
    return number


def _selects(selector: dict[str, str], deployment: Manifest) -> bool:
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    return bool(selector) and selector.items() <= labels.items()


def _pod_environment(deployment: Manifest) -> dict[str, str]:
    """The environment the container gets from its ConfigMaps and its literal ``env`` entries."""
    container = _container(deployment)
    environment: dict[str, str] = {}
    for source in container.get("envFrom", []):
        environment |= _one("ConfigMap", source["configMapRef"]["name"])["data"]
    environment |= {entry["name"]: entry["value"] for entry in container.get("env", []) if "value" in entry}
    return environment


def _pod_settings(monkeypatch: pytest.MonkeyPatch) -> Settings:
    """The settings the orchestrator's pod loads: its environment only (the image's HOST and PORT
    are the defaults), none of this process's."""
    for name in list(os.environ):
        if name.lower().split("__", 1)[0] in Settings.model_fields:
            monkeypatch.delenv(name)
    for name, value in _pod_environment(_orchestrator()).items():
        monkeypatch.setenv(name, value)
    return Settings(_env_file=None)


def _prestop_sleep_s(container: Manifest) -> float:
    pre_stop = container["lifecycle"]["preStop"]
    if "sleep" in pre_stop:
        return float(pre_stop["sleep"]["seconds"])
    program, seconds = pre_stop["exec"]["command"]
    assert program.rsplit("/", 1)[-1] == "sleep"
    return float(seconds)


_UNITS = {"m": 1e-3, "": 1, "k": 1e3, "M": 1e6, "G": 1e9, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30}


def _quantity(value: str | int) -> float:
    """A Kubernetes quantity (``500m``, ``1``, ``256Mi``) as a number."""
    number, unit = re.fullmatch(r"([0-9.]+)([a-zA-Z]*)", str(value)).groups()  # type: ignore[union-attr]
    return float(number) * _UNITS[unit]


def _image_uid() -> int:
    return int(re.search(r"--uid (\d+)", (ROOT / "Dockerfile").read_text()).group(1))  # type: ignore[union-attr]


# --- the schemas ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("where", "document"), _documents(), ids=[where for where, _ in _documents()])
def test_every_manifest_is_valid_against_the_kubernetes_schemas(where: str, document: Manifest) -> None:
    assert kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True) == KUBERNETES_VERSION


def test_strict_validation_rejects_a_misspelt_field() -> None:
    broken = copy.deepcopy(_orchestrator())
    _container(broken)["livenesProbe"] = _container(broken)["livenessProbe"]
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES_VERSION, strict=True)


def test_kubectl_apply_of_the_directory_gets_every_orchestrator_object() -> None:
    top_level = [document["kind"] for where, document in _documents() if "/" not in where]
    assert sorted(top_level) == sorted(
        ["ConfigMap", "Deployment", "Service", "HorizontalPodAutoscaler", "PodDisruptionBudget"]
    )


# --- the orchestrator's Deployment and the app --------------------------------------------------


@pytest.mark.parametrize(
    ("probe", "handler"),
    [("livenessProbe", health.get_health), ("readinessProbe", health.get_api_health)],
)
async def test_probe_is_a_route_the_app_answers(
    probe: str, handler: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _container(_orchestrator())[probe]["httpGet"]["path"]
    app = create_app(_pod_settings(monkeypatch))
    match = await app.router.resolve(make_mocked_request("GET", path, app=app))
    assert match.http_exception is None
    assert match.handler is handler


@pytest.mark.parametrize("probe", ["livenessProbe", "readinessProbe"])
def test_probe_asks_the_container_port(probe: str) -> None:
    container = _container(_orchestrator())
    port = _container_port(container, container[probe]["httpGet"]["port"])
    assert port == container["ports"][0]["containerPort"]


def test_container_port_is_where_the_app_listens(monkeypatch: pytest.MonkeyPatch) -> None:
    (port,) = _container(_orchestrator())["ports"]
    assert port["containerPort"] == ORCHESTRATOR_PORT == _pod_settings(monkeypatch).port


def test_service_urls_come_from_the_configmap() -> None:
    container = _container(_orchestrator())
    sources = [source["configMapRef"]["name"] for source in container["envFrom"]]
    data = _one("ConfigMap", "orchestrator-config")["data"]
    assert "orchestrator-config" in sources
    assert {entry.url_variable for entry in SERVICES} <= data.keys()


def test_configmap_holds_valid_settings_that_reach_the_service_urls(monkeypatch: pytest.MonkeyPatch) -> None:
    data = _one("ConfigMap", "orchestrator-config")["data"]
    settings = _pod_settings(monkeypatch)
    assert {entry.name: settings.url(entry.name) for entry in SERVICES} == {
        entry.name: data[entry.url_variable].rstrip("/") for entry in SERVICES
    }


def test_termination_grace_outlasts_the_prestop_sleep_and_the_drain(monkeypatch: pytest.MonkeyPatch) -> None:
    pod = _orchestrator()["spec"]["template"]["spec"]
    sleep_s = _prestop_sleep_s(_container(_orchestrator()))
    grace_s = _pod_settings(monkeypatch).drain.grace_s  # DRAIN__GRACE_S, else its default (20 s)
    assert sleep_s > 0
    assert pod["terminationGracePeriodSeconds"] >= sleep_s + grace_s + SHUTDOWN_HEADROOM_S


def test_memory_limit_leaves_room_for_the_measured_peak() -> None:
    resources = _container(_orchestrator())["resources"]
    assert _quantity(resources["limits"]["memory"]) > MEASURED_PEAK_BYTES


# --- the HPA and the PDB ---------------------------------------------------------------------------


def test_hpa_scales_the_orchestrator_deployment() -> None:
    target = _one("HorizontalPodAutoscaler", "orchestrator")["spec"]["scaleTargetRef"]
    deployment = _orchestrator()
    assert target == {"apiVersion": deployment["apiVersion"], "kind": "Deployment", "name": "orchestrator"}


def test_hpa_measures_cpu_against_a_cpu_request() -> None:
    """A CPU utilization target is a share of the containers' CPU requests: without one, no scaling."""
    metrics = _one("HorizontalPodAutoscaler", "orchestrator")["spec"]["metrics"]
    assert [metric["resource"]["name"] for metric in metrics if metric["type"] == "Resource"] == ["cpu"]
    assert _quantity(_container(_orchestrator())["resources"]["requests"]["cpu"]) > 0


def test_deployment_leaves_the_replica_count_to_the_hpa() -> None:
    assert "replicas" not in _orchestrator()["spec"]


def test_pdb_selects_the_orchestrator_pods_only() -> None:
    selector = _one("PodDisruptionBudget", "orchestrator")["spec"]["selector"]["matchLabels"]
    assert [d["metadata"]["name"] for d in _all("Deployment") if _selects(selector, d)] == ["orchestrator"]


def test_pdb_keeps_a_pod_up_at_the_hpa_minimum() -> None:
    budget = _one("PodDisruptionBudget", "orchestrator")["spec"]
    minimum = _one("HorizontalPodAutoscaler", "orchestrator")["spec"]["minReplicas"]
    available = minimum - budget["maxUnavailable"] if "maxUnavailable" in budget else budget["minAvailable"]
    assert 1 <= available < minimum


def test_deployment_selector_matches_its_own_pods() -> None:
    for deployment in _all("Deployment"):
        assert _selects(deployment["spec"]["selector"]["matchLabels"], deployment)


# --- every Service, every Deployment ---------------------------------------------------------------


@pytest.mark.parametrize("service", _all("Service"), ids=lambda service: service["metadata"]["name"])
def test_service_targets_the_container_port_of_the_one_deployment_it_selects(service: Manifest) -> None:
    selector = service["spec"]["selector"]
    (deployment,) = [d for d in _all("Deployment") if _selects(selector, d)]
    container = _container(deployment)
    container_ports = [entry["containerPort"] for entry in container["ports"]]
    for port in service["spec"]["ports"]:
        assert _container_port(container, port["targetPort"]) in container_ports


@pytest.mark.parametrize("deployment", _all("Deployment"), ids=lambda d: d["metadata"]["name"])
def test_pod_runs_as_the_image_non_root_user(deployment: Manifest) -> None:
    pod = deployment["spec"]["template"]["spec"]
    effective = pod.get("securityContext", {}) | _container(deployment).get("securityContext", {})
    assert effective["runAsNonRoot"] is True
    assert effective["runAsUser"] == _image_uid() != 0


@pytest.mark.parametrize("deployment", _all("Deployment"), ids=lambda d: d["metadata"]["name"])
def test_container_cannot_write_its_image_or_gain_privileges(deployment: Manifest) -> None:
    context = _container(deployment)["securityContext"]
    assert context["readOnlyRootFilesystem"] is True
    assert context["allowPrivilegeEscalation"] is False
    assert context["capabilities"]["drop"] == ["ALL"]


@pytest.mark.parametrize("deployment", _all("Deployment"), ids=lambda d: d["metadata"]["name"])
def test_container_requests_no_more_than_its_limits(deployment: Manifest) -> None:
    resources = _container(deployment)["resources"]
    for resource in ("cpu", "memory"):
        assert 0 < _quantity(resources["requests"][resource]) <= _quantity(resources["limits"][resource])


# --- the reference services ------------------------------------------------------------------------


@pytest.mark.parametrize("entry", SERVICES, ids=lambda entry: entry.name)
def test_configmap_url_is_the_registry_default(entry: ServiceEntry) -> None:
    assert _one("ConfigMap", "orchestrator-config")["data"][entry.url_variable] == entry.default_url


@pytest.mark.parametrize("entry", SERVICES, ids=lambda entry: entry.name)
def test_reference_service_answers_at_the_registry_default_url(entry: ServiceEntry) -> None:
    """The reference Service is named and numbered as the host and port of the default URL."""
    (port,) = _one("Service", entry.default_host)["spec"]["ports"]
    assert port["port"] == entry.default_port


@pytest.mark.parametrize("entry", SERVICES, ids=lambda entry: entry.name)
def test_reference_deployment_serves_the_registry_entry(entry: ServiceEntry) -> None:
    container = _container(_one("Deployment", entry.default_host))
    command = container["command"]
    assert command[:3] == ["python", "-m", "services"]
    args = parse_args(command[3:])
    assert (args.name, args.host, args.port) == (entry.name, "0.0.0.0", entry.default_port)
    assert [port["containerPort"] for port in container["ports"]] == [entry.default_port]
    assert container["readinessProbe"]["httpGet"]["path"] == entry.health_path
