"""What ``kubectl apply -k DIR`` creates, rendered here for the subset of kustomize that deploy/ uses.

``resources`` (YAML files, or directories with a kustomization of their own), ``components``
(kustomizations of kind Component: their resources join, then their transformers apply to all that
has been gathered so far) and ``images`` (a container's image by name: ``newName``, ``newTag`` or
``digest``), in kustomize's order: resources, then components, then the kustomization's own
transformers. Any other field is refused, so that deploy/ cannot start using a feature this does not
render without a test saying so. ``test_manifests.py`` checks the rendering against ``kubectl
kustomize`` wherever kubectl is installed, and validates every object it renders.

Written for the tests because kustomize is a Go program that the project's own files cannot install
here: kubectl carries it, and these machines' image has one (Google Cloud CLI's), but Debian 12's
kubectl is 1.20, whose kustomize predates components, and PyPI and npm have only third parties'
repackagings of the binary (an unofficial wheel, AWS's Lambda layers).
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import yaml

Manifest = dict[str, Any]

KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
KINDS = {
    "Kustomization": "kustomize.config.k8s.io/v1beta1",
    "Component": "kustomize.config.k8s.io/v1alpha1",
}
#: The fields of a kustomization this renders; anything else is an error.
FIELDS = frozenset({"apiVersion", "kind", "resources", "components", "images"})
IMAGE_FIELDS = frozenset({"name", "newName", "newTag", "digest"})
#: Where kustomize's image transformer looks, among the kinds deploy/ has: a pod template's containers.
POD_TEMPLATE_KINDS = frozenset({"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"})
#: An image reference: a name (with a registry and port, perhaps), then ``:tag``, then ``@digest``.
IMAGE = re.compile(r"^(?P<name>(?:[^/@]+/)*[^:/@]+)(?::(?P<tag>[^@/]+))?(?:@(?P<digest>.+))?$")


class Unsupported(ValueError):
    """A kustomization asks for something this renderer does not do."""


def kustomization_file(directory: Path) -> Path:
    found = [directory / name for name in KUSTOMIZATION_FILES if (directory / name).is_file()]
    if len(found) != 1:
        raise Unsupported(f"{directory}: {len(found)} kustomization files, want one")
    return found[0]


def read_kustomization(directory: Path, kind: str) -> Manifest:
    kustomization = yaml.safe_load(kustomization_file(directory).read_text())
    if (kustomization.get("kind", "Kustomization"), kustomization.get("apiVersion", KINDS[kind])) != (
        kind,
        KINDS[kind],
    ):
        raise Unsupported(f"{directory}: not a {kind} ({KINDS[kind]})")
    unknown = set(kustomization) - FIELDS
    if unknown:
        raise Unsupported(f"{directory}: fields this renderer does not do: {sorted(unknown)}")
    return kustomization


def build(directory: Path) -> list[Manifest]:
    """The objects ``kubectl kustomize directory`` renders, in the order their files list them."""
    return _build(directory.resolve(), "Kustomization", [])


def _build(directory: Path, kind: str, gathered: list[Manifest]) -> list[Manifest]:
    kustomization = read_kustomization(directory, kind)
    objects = list(gathered)
    for entry in kustomization.get("resources", []):
        objects += _resource(directory / entry)
    for entry in kustomization.get("components", []):
        objects = _build((directory / entry).resolve(), "Component", objects)
    return [_with_images(item, kustomization.get("images", [])) for item in objects]


def _resource(path: Path) -> list[Manifest]:
    if path.is_dir():
        return build(path)
    return [copy.deepcopy(document) for document in yaml.safe_load_all(path.read_text()) if document]


def _with_images(item: Manifest, images: list[dict[str, str]]) -> Manifest:
    if not images or item.get("kind") not in POD_TEMPLATE_KINDS:
        return item
    pod = item["spec"]["template"]["spec"]
    for container in [*pod.get("initContainers", []), *pod.get("containers", [])]:
        container["image"] = retag(container["image"], images)
    return item


def retag(image: str, images: list[dict[str, str]]) -> str:
    """``image`` as the first ``images`` entry of its name makes it (unchanged if none names it)."""
    parts = IMAGE.match(image)
    if parts is None:
        raise Unsupported(f"an image reference this renderer cannot read: {image!r}")
    for entry in images:
        if set(entry) - IMAGE_FIELDS:
            raise Unsupported(f"image fields this renderer does not do: {sorted(set(entry) - IMAGE_FIELDS)}")
        if entry["name"] != parts["name"]:
            continue
        name, tag, digest = entry.get("newName", parts["name"]), parts["tag"], parts["digest"]
        if "newTag" in entry:  # a new tag drops the digest, unless a new digest comes with it
            tag, digest = str(entry["newTag"]), entry.get("digest")
        elif "digest" in entry:  # a digest alone drops the tag
            tag, digest = None, entry["digest"]
        return name + (f":{tag}" if tag else "") + (f"@{digest}" if digest else "")
    return image
