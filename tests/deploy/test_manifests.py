"""The Kubernetes manifests of ``deploy/``: what ``kubectl apply -k`` creates, valid against the API's
schemas, and true to the app.

``deploy/`` is applied with kustomize (``kubectl apply -k deploy/``, ``kubectl apply -k
deploy/reference-services/``). The objects those create are rendered here (``kustomize.py``, checked
against ``kubectl kustomize`` wherever kubectl is installed) and each is checked against the schemas
that ``kubernetes-validate`` ships (strict: an unknown or misspelt field is an error), offline, as is
the prometheus-adapter rule, which is applied apart. The other tests hold them to what the app does:
the probes are routes it answers, the ports are the ones it listens on, the pod outlives the drain,
the selectors pick the right pods, each pod runs as its image's non-root user, the metrics the
autoscaler reads are ones the app exports; and to the layout: the images' names and tags are set in
one place.
"""

from __future__ import annotations

import copy
import os
import re
import shutil
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from aiohttp.test_utils import make_mocked_request
from prometheus_client.parser import text_string_to_metric_families
from yarl import URL

from orchestrator.registry import ORCHESTRATOR_PORT, SERVICES, ServiceEntry
from orchestrator.settings import Settings
from orchestrator.web.app import create_app
from orchestrator.web.routes import health
from services.cli import parse_args
from tests.deploy import kustomize

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
#: The directories applied with ``kubectl apply -k``: the orchestrator and Redis; the reference services.
KUSTOMIZATIONS = (DEPLOY, DEPLOY / "reference-services")
#: The one kustomization that sets the images' names and tags (a component both include).
IMAGES = DEPLOY / "images"
#: prometheus-adapter's configuration: applied apart, in the adapter's namespace.
ADAPTER_CONFIG = DEPLOY / "prometheus-adapter" / "config.yaml"
#: The Kubernetes version the manifests are checked against: the oldest we claim to run on.
KUBERNETES_VERSION = "1.30"
#: What the pod must still be given after the preStop sleep and the drain: `orchestrator serve`
#: allows handlers 5 s more once the drain is over, then closes the services' sessions.
SHUTDOWN_HEADROOM_S = 10
#: The orchestrator's highest measured peak memory, a thousand backtests in flight with the cache
#: (docs/performance.md: 275-288 MB); its memory limit must leave room above it.
MEASURED_PEAK_BYTES = 290 * 10**6
#: Our two images (the Dockerfile's gateway target, which the orchestrator runs, and its platform
#: target, which the reference services run: docker-compose.yml names them), and Redis's.
GATEWAY_IMAGE, PLATFORM_IMAGE, REDIS_IMAGE = "backtest-orchestrator", "backtest-platform", "redis"
#: The official Redis image's `redis` user (its Dockerfile: groupadd -r -g 999 redis; useradd -r -g
#: redis -u 999 redis); not readable here, unlike our own Dockerfile.
REDIS_IMAGE_UID = 999

Manifest = dict[str, Any]


@cache
def _rendered(directory: Path) -> tuple[Manifest, ...]:
    """What ``kubectl apply -k directory`` creates."""
    return tuple(kustomize.build(directory))


def _where(document: Manifest) -> str:
    return f"{document['kind']}/{document['metadata']['name']}"


@cache
def _documents() -> tuple[tuple[str, Manifest], ...]:
    """Every object deploy/ creates, named ``directory: Kind/name``, and the adapter's ConfigMap."""
    found = [
        (f"{directory.relative_to(ROOT)}: {_where(document)}", document)
        for directory in KUSTOMIZATIONS
        for document in _rendered(directory)
    ]
    for document in yaml.safe_load_all(ADAPTER_CONFIG.read_text()):
        found.append((f"{ADAPTER_CONFIG.relative_to(ROOT)}: {_where(document)}", document))
    return tuple(found)


def _all(kind: str) -> list[Manifest]:
    return [document for _, document in _documents() if document["kind"] == kind]


def _one(kind: str, name: str) -> Manifest:
    (found,) = [document for document in _all(kind) if document["metadata"]["name"] == name]
    return found


def _orchestrator() -> Manifest:
    return _one("Deployment", "orchestrator")


def _redis() -> Manifest:
    return _one("Deployment", "redis")


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
#: redis.conf's units of memory (case does not matter): ``mb`` is 1024 * 1024 bytes.
_REDIS_UNITS = {"": 1, "k": 1000, "kb": 2**10, "m": 10**6, "mb": 2**20, "g": 10**9, "gb": 2**30}


def _quantity(value: str | int) -> float:
    """A Kubernetes quantity (``500m``, ``1``, ``256Mi``) as a number."""
    number, unit = re.fullmatch(r"([0-9.]+)([a-zA-Z]*)", str(value)).groups()  # type: ignore[union-attr]
    return float(number) * _UNITS[unit]


def _redis_bytes(value: str) -> int:
    number, unit = re.fullmatch(r"([0-9]+)([a-zA-Z]*)", value).groups()  # type: ignore[union-attr]
    return int(number) * _REDIS_UNITS[unit.lower()]


def _image_uid() -> int:
    return int(re.search(r"--uid (\d+)", (ROOT / "Dockerfile").read_text()).group(1))  # type: ignore[union-attr]


def _image_name(image: str) -> str:
    return kustomize.IMAGE.match(image)["name"]  # type: ignore[index]


def _redis_options() -> dict[str, str]:
    """redis-server's ``--name value`` arguments of the Redis container."""
    program, *args = _container(_redis())["args"]
    assert program == "redis-server" and len(args) % 2 == 0
    assert all(name.startswith("--") for name in args[::2])
    return {name.removeprefix("--"): value for name, value in zip(args[::2], args[1::2], strict=True)}


def _adapter_rules() -> list[Manifest]:
    (config,) = yaml.safe_load_all(ADAPTER_CONFIG.read_text())
    return yaml.safe_load(config["data"]["config.yaml"])["rules"]


def _source_files() -> list[Path]:
    return sorted([*DEPLOY.rglob("*.yaml"), *DEPLOY.rglob("*.yml")])


def _kustomization_files() -> list[Path]:
    return [path for path in _source_files() if path.name in kustomize.KUSTOMIZATION_FILES]


# --- the schemas ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("where", "document"), _documents(), ids=[where for where, _ in _documents()])
def test_every_manifest_is_valid_against_the_kubernetes_schemas(where: str, document: Manifest) -> None:
    assert kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True) == KUBERNETES_VERSION


def test_strict_validation_rejects_a_misspelt_field() -> None:
    broken = copy.deepcopy(_orchestrator())
    _container(broken)["livenesProbe"] = _container(broken)["livenessProbe"]
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES_VERSION, strict=True)


# --- the layout: kustomize, and the images in one place ------------------------------------------


def test_kubectl_apply_k_of_deploy_creates_the_orchestrator_and_redis() -> None:
    assert sorted(_where(document) for document in _rendered(DEPLOY)) == sorted(
        [
            "ConfigMap/orchestrator-config",
            "Deployment/orchestrator",
            "Service/orchestrator",
            "HorizontalPodAutoscaler/orchestrator",
            "PodDisruptionBudget/orchestrator",
            "Deployment/redis",
            "Service/redis",
            "NetworkPolicy/redis",
        ]
    )


def test_kubectl_apply_k_of_the_reference_services_creates_each_service() -> None:
    names = sorted(_where(document) for document in _rendered(DEPLOY / "reference-services"))
    hosts = [entry.default_host for entry in SERVICES]
    assert names == sorted(
        [*(f"Deployment/{host}" for host in hosts), *(f"Service/{host}" for host in hosts)]
    )


def test_every_yaml_file_is_applied_by_a_kustomization_or_is_the_adapter_config() -> None:
    """No manifest sits in deploy/ without being deployed: each is a kustomization, one's resource,
    or the adapter's configuration (applied apart, on purpose)."""
    used = {ADAPTER_CONFIG, *_kustomization_files()}
    for path in _kustomization_files():
        used |= {
            (path.parent / entry).resolve() for entry in yaml.safe_load(path.read_text()).get("resources", [])
        }
    assert set(_source_files()) - used == set()


@pytest.mark.parametrize("directory", KUSTOMIZATIONS, ids=lambda directory: str(directory.relative_to(ROOT)))
def test_the_rendering_is_what_kubectl_kustomize_renders(directory: Path) -> None:
    """The renderer of these tests (``kustomize.py``) against kustomize itself, where kubectl is."""
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("no kubectl here: the rendering is checked against kustomize itself where it is")
    rendered = subprocess.run(
        [kubectl, "kustomize", str(directory)], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    theirs = sorted(yaml.safe_load_all(rendered), key=_where)
    assert sorted(_rendered(directory), key=_where) == theirs


def test_the_renderer_refuses_a_field_it_does_not_do(tmp_path: Path) -> None:
    (tmp_path / "kustomization.yaml").write_text("resources: []\npatches: []\n")
    with pytest.raises(kustomize.Unsupported, match="patches"):
        kustomize.build(tmp_path)


def test_each_kustomization_takes_its_images_from_the_one_component() -> None:
    setters = [path.parent for path in _kustomization_files() if "images" in yaml.safe_load(path.read_text())]
    assert setters == [IMAGES]
    for directory in KUSTOMIZATIONS:
        components = kustomize.read_kustomization(directory, "Kustomization").get("components", [])
        assert [(directory / entry).resolve() for entry in components] == [IMAGES]


def test_no_manifest_names_a_tag_or_a_digest() -> None:
    """Every container's image is a bare name: its tag (or digest) is set in images/ alone."""
    images = [
        container["image"]
        for path in _source_files()
        if path.name not in kustomize.KUSTOMIZATION_FILES
        for document in yaml.safe_load_all(path.read_text())
        if document and document["kind"] == "Deployment"
        for container in document["spec"]["template"]["spec"]["containers"]
    ]
    assert images and all(_image_name(image) == image for image in images), images
    entries = kustomize.read_kustomization(IMAGES, "Component")["images"]
    assert sorted({*images}) == sorted(entry["name"] for entry in entries)
    assert all("newTag" in entry or "digest" in entry for entry in entries)


@pytest.mark.parametrize("deployment", _all("Deployment"), ids=lambda d: d["metadata"]["name"])
def test_every_rendered_image_has_the_tag_of_the_images_entry(deployment: Manifest) -> None:
    entries = {entry["name"]: entry for entry in kustomize.read_kustomization(IMAGES, "Component")["images"]}
    image = _container(deployment)["image"]
    entry = entries[_image_name(image)]
    tag, digest = entry.get("newTag"), entry.get("digest")
    assert image == entry.get("newName", entry["name"]) + (f":{tag}" if tag else "") + (
        f"@{digest}" if digest else ""
    )


def test_the_orchestrator_runs_the_gateway_image_and_the_reference_services_the_platform_one() -> None:
    services = {
        _image_name(_container(d)["image"])
        for d in _rendered(DEPLOY / "reference-services")
        if d["kind"] == "Deployment"
    }
    assert (_image_name(_container(_orchestrator())["image"]), services) == (GATEWAY_IMAGE, {PLATFORM_IMAGE})


def test_the_images_are_the_ones_docker_compose_builds_from_the_dockerfile() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    built = {service["image"].split(":")[0]: service["build"]["target"] for service in compose.values()}
    assert built == {GATEWAY_IMAGE: "gateway", PLATFORM_IMAGE: "platform"}


# --- the orchestrator's Deployment and the app --------------------------------------------------


@pytest.mark.parametrize(
    ("probe", "handler"),
    [("livenessProbe", health.get_health), ("readinessProbe", health.get_ready)],
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


#: ingress-nginx's idle upstream connections per worker process (upstream-keepalive-connections),
#: and the workers of a controller pod on a four-core node.
INGRESS_KEEPALIVE_PER_WORKER, INGRESS_WORKERS = 320, 4


def test_the_pods_believe_the_ingress_about_its_clients(monkeypatch: pytest.MonkeyPatch) -> None:
    edge = _pod_settings(monkeypatch).edge
    assert edge.trusted_proxies and edge.proxy_header == "x-forwarded-for"  # what ingress-nginx writes


def test_an_ingress_pod_may_hold_its_whole_keep_alive_pool_and_more(monkeypatch: pytest.MonkeyPatch) -> None:
    edge = _pod_settings(monkeypatch).edge
    pool = INGRESS_KEEPALIVE_PER_WORKER * INGRESS_WORKERS
    assert edge.max_connections_per_proxy > pool > edge.max_connections_per_client


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


def test_hpa_keeps_cpu_against_a_cpu_request_as_its_fallback() -> None:
    """A CPU utilization target is a share of the containers' CPU requests: without one, no scaling."""
    metrics = _one("HorizontalPodAutoscaler", "orchestrator")["spec"]["metrics"]
    assert [metric["resource"]["name"] for metric in metrics if metric["type"] == "Resource"] == ["cpu"]
    assert _quantity(_container(_orchestrator())["resources"]["requests"]["cpu"]) > 0


def test_hpa_scales_on_saturation_below_the_point_of_refusals() -> None:
    """Saturation is in flight over the limit: at 1 the pod refuses backtests, so the target is below."""
    metrics = _one("HorizontalPodAutoscaler", "orchestrator")["spec"]["metrics"]
    (pods,) = [metric["pods"] for metric in metrics if metric["type"] == "Pods"]
    assert pods["metric"]["name"] == "orchestrator_admission_saturation"
    assert pods["target"]["type"] == "AverageValue"
    assert 0.5 <= _quantity(pods["target"]["averageValue"]) <= 0.8


def test_the_adapter_serves_the_metric_the_hpa_asks_for() -> None:
    metrics = _one("HorizontalPodAutoscaler", "orchestrator")["spec"]["metrics"]
    asked = {metric["pods"]["metric"]["name"] for metric in metrics if metric["type"] == "Pods"}
    served = {rule["name"]["as"] for rule in _adapter_rules()}
    assert asked <= served


def test_the_adapter_rule_is_in_flight_over_the_limit_per_pod() -> None:
    (rule,) = [rule for rule in _adapter_rules() if rule["name"]["as"] == "orchestrator_admission_saturation"]
    query = " ".join(rule["metricsQuery"].split())
    per_pod = "sum by (<<.GroupBy>>) ({}{{<<.LabelMatchers>>}})"
    assert query == " / ".join(
        per_pod.format(name) for name in ("orchestrator_admission_in_flight", "orchestrator_admission_limit")
    )
    assert rule["resources"]["overrides"] == {
        "namespace": {"resource": "namespace"},
        "pod": {"resource": "pod"},
    }
    assert re.fullmatch(rule["name"]["matches"], "orchestrator_admission_in_flight")


async def test_every_metric_the_adapter_reads_is_one_the_app_exports(orchestrator_client) -> None:
    """The names in the rule's queries, against the app's own /metrics."""
    client = await orchestrator_client(create_app(Settings(_env_file=None, redis_url=None)))
    response = await client.get("/metrics")
    exported = {family.name for family in text_string_to_metric_families(await response.text())}
    for rule in _adapter_rules():
        read = set(re.findall(r"\borchestrator_[a-z_]+\b", rule["seriesQuery"] + rule["metricsQuery"]))
        assert read and read <= exported, read - exported


def test_prometheus_scrapes_the_pods_at_their_http_port() -> None:
    annotations = _orchestrator()["spec"]["template"]["metadata"]["annotations"]
    container = _container(_orchestrator())
    assert annotations["prometheus.io/scrape"] == "true"
    assert int(annotations["prometheus.io/port"]) == _container_port(container, "http")


async def test_prometheus_scrapes_the_path_the_app_serves_its_metrics_at(orchestrator_client) -> None:
    path = _orchestrator()["spec"]["template"]["metadata"]["annotations"]["prometheus.io/path"]
    client = await orchestrator_client(create_app(Settings(_env_file=None, redis_url=None)))
    response = await client.get(path)
    assert (response.status, response.content_type) == (200, "text/plain")
    assert "orchestrator_admission_in_flight" in await response.text()


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
def test_pod_runs_as_its_images_non_root_user(deployment: Manifest) -> None:
    """Our image's `app` user (its Dockerfile), or the official Redis image's `redis` user."""
    users = {GATEWAY_IMAGE: _image_uid(), PLATFORM_IMAGE: _image_uid(), REDIS_IMAGE: REDIS_IMAGE_UID}
    pod = deployment["spec"]["template"]["spec"]
    effective = pod.get("securityContext", {}) | _container(deployment).get("securityContext", {})
    assert effective["runAsNonRoot"] is True
    assert effective["runAsUser"] == users[_image_name(_container(deployment)["image"])] != 0


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


# --- Redis ----------------------------------------------------------------------------------------


def test_redis_url_is_the_redis_service(monkeypatch: pytest.MonkeyPatch) -> None:
    url = URL(_pod_settings(monkeypatch).redis_url)
    (port,) = _one("Service", "redis")["spec"]["ports"]
    assert (url.scheme, url.host, url.port) == ("redis", "redis", port["port"])


def test_redis_is_a_cache_that_keeps_nothing_on_disk() -> None:
    options = _redis_options()
    assert (options["save"], options["appendonly"]) == ("", "no")


def test_redis_evicts_any_key_least_recently_used_when_full() -> None:
    assert _redis_options()["maxmemory-policy"] == "allkeys-lru"
    assert _redis_bytes(_redis_options()["maxmemory"]) > 0


def test_redis_memory_limit_leaves_room_above_maxmemory() -> None:
    """Redis takes more than its data: itself, fragmentation, its clients' buffers (a fifth or more)."""
    limit = _quantity(_container(_redis())["resources"]["limits"]["memory"])
    assert limit >= 1.2 * _redis_bytes(_redis_options()["maxmemory"])


def test_redis_writes_only_to_its_data_volume() -> None:
    container = _container(_redis())
    (mount,) = container["volumeMounts"]
    (volume,) = _redis()["spec"]["template"]["spec"]["volumes"]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert (mount["mountPath"], mount["name"], "emptyDir" in volume) == ("/data", volume["name"], True)


def test_redis_is_one_pod_replaced_not_rolled() -> None:
    spec = _redis()["spec"]
    assert (spec["replicas"], spec["strategy"]["type"]) == (1, "Recreate")


def test_redis_lets_in_only_the_orchestrator_pods_at_its_port() -> None:
    policy = _one("NetworkPolicy", "redis")["spec"]
    assert [
        d["metadata"]["name"] for d in _all("Deployment") if _selects(policy["podSelector"]["matchLabels"], d)
    ] == ["redis"]
    (rule,) = policy["ingress"]
    (source,) = rule["from"]
    assert [
        d["metadata"]["name"] for d in _all("Deployment") if _selects(source["podSelector"]["matchLabels"], d)
    ] == ["orchestrator"]
    (port,) = rule["ports"]
    assert _container_port(_container(_redis()), port["port"]) == 6379


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
