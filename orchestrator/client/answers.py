"""What an answer of the orchestrator amounts to: its success envelope, or a :class:`Failed` saying
why there is none, in words for a person (``describe_error``)."""

from __future__ import annotations

import json
from typing import Any


class Failed(Exception):
    """No result: the message says why, for a person. ``exit_code`` is what the command line exits
    with: 1 when the orchestrator answered with an error, 2 when there was no usable answer (not
    reachable, timed out, cut off, not the orchestrator). ``error`` is the envelope's error object
    (``code``, ``message``, ``details``) when the orchestrator answered one, for programs to read."""

    def __init__(self, message: str, exit_code: int, error: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.exit_code = exit_code
        self.error = error

    @property
    def code(self) -> str | None:
        """The error's ``code`` (``NOT_FOUND``, ``TOO_MANY_JOBS``...), when the orchestrator sent one."""
        return None if self.error is None else self.error.get("code")


def read_envelope(status: int, text: str) -> dict[str, Any]:
    """The success envelope ``text`` holds, or :class:`Failed` with the error it holds instead."""
    try:
        answer = decode(text)
    except Failed:
        raise Failed(f"HTTP {status} with an answer that is not JSON: {text[:200]!r}", 2) from None
    if 200 <= status < 300 and answer.get("success") is True:
        return answer
    if not isinstance(answer.get("error"), dict):  # not the envelope: a proxy, or not the orchestrator
        raise Failed(f"HTTP {status} with an unexpected answer: {text[:200]!r}", 2)
    raise Failed(describe_error(answer), 1, answer["error"])


def decode(text: str) -> dict[str, Any]:
    """A JSON object, or :class:`Failed`."""
    try:
        value = json.loads(text)
    except ValueError:
        value = None
    if not isinstance(value, dict):
        raise Failed(f"the orchestrator sent something that is not a JSON object: {text[:200]!r}", 2)
    return value


def describe_error(envelope: dict[str, Any]) -> str:
    """``error CODE: message`` and, indented below it, each field error and the other details."""
    error = envelope["error"] if isinstance(envelope.get("error"), dict) else {}
    lines = [f"error {error.get('code', 'UNKNOWN')}: {error.get('message', '(no message)')}"]
    given = error.get("details")
    details: dict[str, Any] = given if isinstance(given, dict) else {}
    for item in details.get("errors") or []:
        is_field = isinstance(item, dict)
        lines.append(f"  {item.get('field', '?')}: {item.get('message', '?')}" if is_field else f"  {item}")
    lines += [f"  {key}: {value}" for key, value in details.items() if key != "errors"]
    return "\n".join(lines)
