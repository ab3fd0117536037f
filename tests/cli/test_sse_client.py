"""The hand-written SSE parser, fed the way a network feeds it: in arbitrary chunks."""

from __future__ import annotations

import pytest

from orchestrator.cli.sse_client import Event, EventParser

# As aiohttp-sse frames them: CRLF line ends, a heartbeat comment between events.
STREAM = (
    b'id: 1\r\nevent: progress\r\ndata: {"stage": "metrics"}\r\n\r\n'
    b": ping\r\n\r\n"
    b'id: 2\r\nevent: result\r\ndata: {"success": true,\r\ndata:  "data": {}}\r\n\r\n'
)
EXPECTED = [
    Event(event="progress", data='{"stage": "metrics"}', id="1"),
    Event(event="result", data='{"success": true,\n "data": {}}', id="2"),
]


def parse(*chunks: bytes | str) -> list[Event]:
    parser = EventParser()
    return [event for chunk in chunks for event in parser.feed(chunk)] + parser.close()


def test_whole():
    assert parse(STREAM) == EXPECTED


@pytest.mark.parametrize("size", [1, 2, 3, 7, 16])
def test_any_chunking_gives_the_same_events(size):
    assert parse(*(STREAM[i : i + size] for i in range(0, len(STREAM), size))) == EXPECTED


@pytest.mark.parametrize("end", ["\n", "\r", "\r\n"])
def test_every_line_ending(end):
    text = end.join(["event: progress", "data: a", "data: b", "", "data: c", "", ""])
    assert parse(text) == [Event("progress", "a\nb"), Event("message", "c")]


def test_a_crlf_split_across_chunks_is_one_line_end():
    # The CR ends the first chunk: it must not be read as a line end plus an empty line (a dispatch).
    assert parse("data: a\r", "\ndata: b\r\n", "\r\n") == [Event("message", "a\nb")]


def test_comments_and_blank_lines_alone_dispatch_nothing():
    assert parse(": ping\r\n\r\n:\r\n\r\n\r\n") == []


def test_an_event_without_data_is_not_dispatched_and_its_type_does_not_leak():
    assert parse("event: progress\n\ndata: x\n\n") == [Event("message", "x")]


def test_field_values():
    text = "data:no space\ndata:  two spaces\ndata\ndata: trailing: colon\n\n"
    assert parse(text) == [Event("message", "no space\n two spaces\n\ntrailing: colon")]


def test_the_last_id_carries_over_and_unknown_fields_are_ignored():
    text = "id: 7\nretry: 100\nfoo: bar\ndata: a\n\ndata: b\n\nid: 8\0\ndata: c\n\n"
    assert parse(text) == [Event("message", "a", "7"), Event("message", "b", "7"), Event("message", "c", "7")]


def test_utf8_split_inside_a_character_and_a_leading_bom():
    encoded = "\ufeffdata: café €\n\n".encode()
    assert parse(*(encoded[i : i + 1] for i in range(len(encoded)))) == [Event("message", "café €")]


def test_an_unfinished_event_waits_for_its_blank_line():
    parser = EventParser()
    assert parser.feed("data: complete\n\ndata: cut off") == [Event("message", "complete")]
    assert parser.feed("\n") == []
    assert parser.feed("\n") == [Event("message", "cut off")]


def test_at_the_end_an_unfinished_event_is_dropped_and_a_held_cr_ends_its_line():
    parser = EventParser()
    assert parser.feed("data: a\r\r") == []  # the second CR may yet be half a CRLF
    assert parser.close() == [Event("message", "a")]
    parser = EventParser()
    assert parser.feed("data: never finished\n") == []
    assert parser.close() == []
