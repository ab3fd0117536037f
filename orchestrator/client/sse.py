"""Server-Sent Events, read: one parser for every reader of the orchestrator's streams (the client,
so the command line, and the tests).

Hand-written on purpose: aiohttp-sse only *serves* events, and there is no well-kept SSE client for
aiohttp (the browser's EventSource cannot POST, and the Python client packages are either
requests-based or unmaintained). The format is small; this follows the WHATWG event-stream parsing
rules (https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation):
lines end in CRLF, LF or CR; ``:`` starts a comment (the server's heartbeat, kept with the event
that follows it); the ``data:`` lines of one event are joined with newlines; ``id`` carries over to
later events; ``retry`` sets the reconnection time; a blank line dispatches an event that has data.
It reads raw chunks rather than ``StreamReader.readline`` because aiohttp refuses lines longer than
its buffer limit, and a ``result`` event carries a whole backtest answer on one line.
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from typing import Any

import aiohttp

# A lone CR at the very end of the buffer may be the first half of a CRLF split across chunks.
_LINE_END = re.compile(r"\r\n|\r(?!\Z)|\n")


@dataclass(frozen=True, slots=True)
class Event:
    event: str
    data: str
    id: str | None = None
    comments: tuple[str, ...] = ()  # the comment lines since the event before (heartbeats)

    def json(self) -> Any:
        """The data, decoded as JSON (what every event of the orchestrator's carries)."""
        return json.loads(self.data)


class EventParser:
    """Incremental: feed it chunks as they arrive, get back the events they complete."""

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._buffer = ""
        self._started = False
        self._event = ""
        self._data: list[str] = []
        self._comments: list[str] = []
        self.last_id: str | None = None  # the spec's "last event ID": it carries over to later events
        self.retry_ms: int | None = None  # the reconnection time the server asked for, if it did

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
        field, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if field == "":
            self._comments.append(value)  # a comment: the server's heartbeat
        elif field == "event":
            self._event = value
        elif field == "data":
            self._data.append(value)
        elif field == "id" and "\0" not in value:
            self.last_id = value
        elif field == "retry" and value.isascii() and value.isdigit():
            self.retry_ms = int(value)
        return None  # unknown fields are ignored, as the spec says

    def _dispatch(self) -> Event | None:
        if not self._data:
            self._event = ""  # an event with no data is not dispatched, and its type does not leak
            return None
        event = Event(self._event or "message", "\n".join(self._data), self.last_id, tuple(self._comments))
        self._event, self._data, self._comments = "", [], []
        return event


def parse(body: bytes | str) -> list[Event]:
    """The events of a whole body, in order; an unfinished last event is dropped."""
    parser = EventParser()
    return parser.feed(body) + parser.close()


async def iter_events(content: aiohttp.StreamReader) -> AsyncIterator[Event]:
    """The events of a response body, as they arrive; an unfinished last event is dropped."""
    parser = EventParser()
    async for chunk in content.iter_any():
        for event in parser.feed(chunk):
            yield event
    for event in parser.close():
        yield event
