"""The documentation names every setting and every error code the code has."""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import BaseModel

from orchestrator import errors
from orchestrator.settings import Settings

DOCS = Path(__file__).resolve().parents[1] / "docs"


def _setting_names() -> set[str]:
    """Each environment variable the settings read, nested groups as ``GROUP__FIELD``."""
    names = set()
    for name, field in Settings.model_fields.items():
        if name == "services":
            continue  # documented once, as SERVICES__{NAME}__ before any policy variable
        group = field.annotation
        if isinstance(group, type) and issubclass(group, BaseModel):
            names |= {f"{name}__{inner}".upper() for inner in group.model_fields}
        else:
            names.add(name.upper())
    return names


def test_configuration_lists_every_setting() -> None:
    text = (DOCS / "configuration.md").read_text()
    documented = set(re.findall(r"`([A-Z][A-Z0-9_]*)`", text))
    assert _setting_names() - documented == set()


def test_contract_lists_every_error_code_with_its_status() -> None:
    text = (DOCS / "contract.md").read_text()
    codes = {cls.code: cls.status for cls in _error_classes(errors.ApiError)}
    rows = dict(re.findall(r"^\| `([A-Z_]+)` \| (\d{3}) \|", text, flags=re.MULTILINE))
    assert {code: str(status) for code, status in codes.items()} == rows


def _error_classes(base: type) -> set[type]:
    found = set()
    for cls in base.__subclasses__():
        found |= _error_classes(cls)
        if "code" in vars(cls):
            found.add(cls)
    return found
