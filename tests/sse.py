"""Reading a Server-Sent Events answer in tests: a list of events, comments kept."""

from __future__ import annotations

from dataclasses import dataclass, field

import orjson


@dataclass
class Event:
    id: str | None = None
    event: str = "message"
    data: str = ""
    comments: list[str] = field(default_factory=list)

    def json(self):
        return orjson.loads(self.data)


def parse(text: str) -> list[Event]:
    """Events in order; comment lines are attached to the event that follows them (or a last, empty one)."""
    events, current, data = [], Event(), []
    for line in text.replace("\r\n", "\n").split("\n"):
        if line == "":
            if data or current.id is not None:
                current.data = "\n".join(data)
                events.append(current)
                current, data = Event(), []
            continue
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "":
            current.comments.append(value)
        elif name == "data":
            data.append(value)
        elif name in ("id", "event"):
            setattr(current, name, value)
    if current.comments:
        events.append(current)
    return events
