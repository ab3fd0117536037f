"""What error a service's answer stands for, when it is not a success envelope.

Real services are untidy (``docs/contract.md``, "Untidy answers"): errors arrive inside 200
answers, nested under FastAPI's ``detail``, as bare strings or validation lists, or as HTML from a
proxy. All of it is sorted out here, once, so the clients only ever raise one of our errors (a
success envelope's ``data`` is read by the clients' typed decoding, ``clients/service.py``).
"""

from __future__ import annotations

from typing import Any

import orjson

from orchestrator.errors import ApiError, BrokenAnswer, ContractBreach, from_service_error


def error_of(service: str, status: int, body: bytes) -> ApiError | None:
    """The error an answer that is not a success envelope stands for (the service's own, or ours for
    an answer outside the contract); ``None`` for a success envelope."""
    document = _parse(body)
    if isinstance(document, dict) and isinstance(document.get("detail"), dict):
        document = document["detail"]
    if isinstance(document, dict):
        if document.get("success") is False and isinstance(document.get("error"), dict):
            return from_service_error(service, status, document["error"])
        if 200 <= status < 300 and document.get("success") is True and "data" in document:
            return None
    return _outside_contract(service, status, document)


def _parse(body: bytes) -> Any:
    if not body:
        return None
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        return None


def _outside_contract(service: str, status: int, document: Any) -> ApiError:
    """Our own words for an answer outside the contract, and what kind of answer it was: never the
    service's text, which could hold anything (a stack trace, a database URL)."""
    if 300 <= status < 400:  # a redirect is not followed, and not retried: it will say the same
        return ContractBreach(service, status, f"The {service} service redirected the request")
    # Another try may help when the service failed (5xx) or sent something that is not JSON at all.
    kind = BrokenAnswer if status >= 500 or document is None else ContractBreach
    detail = document.get("detail") if isinstance(document, dict) else None
    details: dict[str, Any]
    if isinstance(detail, str):
        message, details = f"The {service} service answered HTTP {status}", {"detail": "text"}
    elif isinstance(detail, list):
        message = f"The {service} service rejected the request (HTTP {status})"
        details = {"problems": len(detail)}
    elif status >= 500:
        message, details = f"The {service} service failed with HTTP {status}", {}
    else:
        message, details = f"The {service} service sent an answer outside its contract", {}
    return kind(service, status, message, **details)
