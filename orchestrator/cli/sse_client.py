"""The CLI's side of the streamed POSTs (``/api/backtest``, ``/api/sweep``, ``/api/compare``): an SSE
parser and the exchange itself.

The parser is hand-written on purpose: aiohttp-sse only *serves* events, and there is no well-kept
SSE client for aiohttp (the browser's EventSource cannot POST, and the Python client packages are
either requests-based or unmaintained). The format is small; this follows the WHATWG event-stream
parsing rules the orchestrator's streams need: lines end in CRLF, LF or CR; ``:`` starts a comment
(a heartbeat); the ``data:`` lines of one event are joined with newlines; a blank line dispatches.
It reads raw chunks rather than ``StreamReader.readline`` because aiohttp refuses lines longer than
its buffer limit, and a ``result`` event carries a whole backtest answer on one line.

:func:`fetch` turns every way the exchange can end into a result or a :class:`Failed` with the
message to show and the exit code: 1 when the orchestrator answered with an error, 2 when there was
no usable answer. :func:`fetch_csv` does the same for the CSV export.
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import aiohttp

# A lone CR at the very end of the buffer may be the first half of a CRLF split across chunks.
_LINE_END = re.compile(r"\r\n|\r(?!\Z)|\n")
OnEvent = Callable[[dict[str, Any]], None]  # told the data of each event of one name
HINT = "is the orchestrator running? try `orchestrator dev` (or point --url / $ORCHESTRATOR_URL at it)"


@dataclass(frozen=True, slots=True)
class Event:
    event: str
    data: str
    id: str | None = None


class EventParser:
    """Incremental: feed it chunks as they arrive, get back the events they complete."""

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._buffer = ""
        self._started = False
        self._event = ""
        self._data: list[str] = []
        self.last_id: str | None = None  # the spec's "last event ID": it carries over to later events

    def feed(self, chunk: bytes | str) -> list[Event]:
        text = chunk if isinstance(chunk, str) else self._decoder.decode(chunk)
        if not self._started and text:
            self._started, text = True, text.removeprefix("\ufeff")
        self._buffer += text
        events = []
        for line in self._complete_lines():
            if (event := self._line(line)) is not None:
                events.append(event)
        return events

    def close(self) -> list[Event]:
        """At the end of the body: a held-back CR was a line end after all."""
        return self.feed("\n") if self._buffer.endswith("\r") else []

    def _complete_lines(self) -> Iterable[str]:
        start = 0
        for end in _LINE_END.finditer(self._buffer):
            yield self._buffer[start : end.start()]
            start = end.end()
        self._buffer = self._buffer[start:]

    def _line(self, line: str) -> Event | None:
        if not line:
            return self._dispatch()
        if line.startswith(":"):
            return None  # a comment: the server's heartbeat
        field, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if field == "event":
            self._event = value
        elif field == "data":
            self._data.append(value)
        elif field == "id" and "\0" not in value:
            self.last_id = value
        return None  # "retry" and unknown fields are ignored, as the spec says

    def _dispatch(self) -> Event | None:
        event, data, self._event, self._data = self._event, self._data, "", []
        if not data:
            return None  # an event with no data is not dispatched
        return Event(event=event or "message", data="\n".join(data), id=self.last_id)


async def iter_events(content: aiohttp.StreamReader) -> AsyncIterator[Event]:
    """The events of a response body, as they arrive; an unfinished last event is dropped."""
    parser = EventParser()
    async for chunk in content.iter_any():
        for event in parser.feed(chunk):
            yield event
    for event in parser.close():
        yield event


class Failed(Exception):
    """No result: the message is what to tell the user, ``exit_code`` what to exit with."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


async def fetch(
    url: str,
    body: dict[str, Any],
    timeout_s: float,
    on_event: Mapping[str, OnEvent],
    *,
    path: str = "/api/backtest",
    final: str = "result",
) -> tuple[str, dict[str, Any]]:
    """POST ``body`` to ``path`` as a stream; the ``final`` event's raw text and decoded body, or
    :class:`Failed`. Every other event whose name ``on_event`` has is handed to its handler as it
    arrives; events of other names are ignored."""
    async with _posted(url, path, body, timeout_s, {"Accept": "text/event-stream"}) as response:
        if response.content_type == "text/event-stream":
            return await _read_stream(response, on_event, final)
        # Validation errors (and servers that do not stream) answer plain JSON.
        return _read_answer(response.status, await response.text())


async def fetch_csv(url: str, path: str, body: dict[str, Any], timeout_s: float) -> str:
    """POST ``body`` to ``path`` asking for CSV (``?format=csv``); the CSV text, or :class:`Failed`."""
    headers = {"Accept": "text/csv"}
    async with _posted(url, path, body, timeout_s, headers, {"format": "csv"}) as response:
        text = await response.text()
        if 200 <= response.status < 300 and response.content_type == "text/csv":
            return text
        _read_answer(response.status, text)  # errors are still the JSON envelope: this raises them
        raise Failed(f"HTTP {response.status}: asked for CSV, got {response.content_type}", 2)


async def get_json(
    url: str, path: str, params: dict[str, str], timeout_s: float
) -> tuple[str, dict[str, Any]]:
    """GET ``path`` with ``params``; the JSON answer's raw text and decoded body, or :class:`Failed`."""
    async with _posted(url, path, None, timeout_s, {"Accept": "application/json"}, params) as response:
        return _read_answer(response.status, await response.text())


@asynccontextmanager
async def _posted(
    url: str,
    path: str,
    body: dict[str, Any] | None,
    timeout_s: float,
    headers: dict[str, str],
    params: dict[str, str] | None = None,
) -> AsyncIterator[aiohttp.ClientResponse]:
    """The response to the POST (a GET without a ``body``), while it is read; whatever goes wrong on
    the way is :class:`Failed`."""
    endpoint, method = url.rstrip("/") + path, "GET" if body is None else "POST"
    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout_s)) as session,
            session.request(method, endpoint, json=body, headers=headers, params=params) as response,
        ):
            yield response
    except aiohttp.ClientConnectorError as error:
        raise Failed(f"cannot connect to the orchestrator at {url}: {error}\n{HINT}", 2) from None
    except TimeoutError:
        raise Failed(f"no answer from {url} within {timeout_s:g} s (see --timeout)", 2) from None
    except (aiohttp.InvalidURL, aiohttp.NonHttpUrlClientError):
        raise Failed(f"not an http(s) URL: {url!r} (e.g. http://127.0.0.1:8011)", 2) from None
    except aiohttp.ClientError as error:
        raise Failed(f"lost the connection to {url}: {error or type(error).__name__}", 2) from None


async def _read_stream(
    response: aiohttp.ClientResponse, on_event: Mapping[str, OnEvent], final: str
) -> tuple[str, dict[str, Any]]:
    async for event in iter_events(response.content):
        if event.event == final:
            return event.data, _decode(event.data)
        if event.event == "error":
            raise Failed(describe_error(_decode(event.data)), 1)
        if (handler := on_event.get(event.event)) is not None:
            handler(_decode(event.data))
    raise Failed(f"the stream ended without a {final} (did the orchestrator stop?)", 2)


def _read_answer(status: int, text: str) -> tuple[str, dict[str, Any]]:
    try:
        answer = _decode(text)
    except Failed:
        raise Failed(f"HTTP {status} with an answer that is not JSON: {text[:200]!r}", 2) from None
    if 200 <= status < 300 and answer.get("success") is True:
        return text, answer
    if not isinstance(answer.get("error"), dict):  # not the envelope: a proxy, or not the orchestrator
        raise Failed(f"HTTP {status} with an unexpected answer: {text[:200]!r}", 2)
    raise Failed(describe_error(answer), 1)


def _decode(text: str) -> dict[str, Any]:
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
