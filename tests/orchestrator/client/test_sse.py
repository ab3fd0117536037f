"""The SSE parser, fed the way a network feeds it: in arbitrary chunks."""

from __future__ import annotations

import pytest

from orchestrator.client.sse import Event, EventParser, parse

# As aiohttp-sse frames them: CRLF line ends, a heartbeat comment between events.
STREAM = (
    b'id: 1\r\nevent: progress\r\ndata: {"stage": "metrics"}\r\n\r\n'
    b": ping\r\n\r\n"
    b'id: 2\r\nevent: result\r\ndata: {"success": true,\r\ndata:  "data": {}}\r\n\r\n'
)
EXPECTED = [
    Event("progress", '{"stage": "metrics"}', "1"),
    Event("result", '{"success": true,\n "data": {}}', "2", comments=("ping",)),
]


def fed(*chunks: bytes | str) -> list[Event]:
    parser = EventParser()
    return [event for chunk in chunks for event in parser.feed(chunk)] + parser.close()


def test_a_crlf_stream_as_aiohttp_sse_writes_it():
    assert fed(STREAM) == EXPECTED


@pytest.mark.parametrize("size", [1, 2, 3, 7, 16])
def test_any_chunking_gives_the_same_events(size):
    assert fed(*(STREAM[i : i + size] for i in range(0, len(STREAM), size))) == EXPECTED


@pytest.mark.parametrize("end", ["\n", "\r", "\r\n"])
def test_every_line_ending(end):
    text = end.join(["event: progress", "data: a", "", "data: c", "", ""])
    assert fed(text) == [Event("progress", "a"), Event("message", "c")]


def test_the_data_lines_of_one_event_are_joined_with_newlines():
    assert fed("data: first\ndata: second\ndata: third\n\n") == [Event("message", "first\nsecond\nthird")]


def test_a_crlf_split_across_chunks_is_one_line_end():
    # The CR ends the first chunk: it must not be read as a line end plus an empty line (a dispatch).
    assert fed("data: a\r", "\ndata: b\r\n", "\r\n") == [Event("message", "a\nb")]


def test_a_chunk_boundary_inside_a_line_waits_for_the_rest_of_it():
    parser = EventParser()
    assert parser.feed("da") == []
    assert parser.feed("ta: who") == []
    assert parser.feed("le\n\n") == [Event("message", "whole")]


def test_comments_are_kept_with_the_event_that_follows_them():
    assert fed(": ping\n\n:\n: pong\ndata: x\n\n") == [Event("message", "x", comments=("ping", "", "pong"))]


def test_comments_and_blank_lines_alone_dispatch_nothing():
    assert fed(": ping\r\n\r\n:\r\n\r\n\r\n") == []


def test_an_event_without_data_is_not_dispatched_and_its_type_does_not_leak():
    assert fed("event: progress\n\ndata: x\n\n") == [Event("message", "x")]


def test_field_values_lose_one_leading_space_only():
    text = "data:no space\ndata:  two spaces\ndata\ndata: trailing: colon\n\n"
    assert fed(text) == [Event("message", "no space\n two spaces\n\ntrailing: colon")]


def test_the_last_id_carries_over_to_later_events():
    assert fed("id: 7\ndata: a\n\ndata: b\n\n") == [Event("message", "a", "7"), Event("message", "b", "7")]


def test_an_id_holding_nul_is_ignored():
    assert fed("id: 7\ndata: a\n\nid: 8\0\ndata: b\n\n")[-1] == Event("message", "b", "7")


def test_retry_sets_the_reconnection_time_and_is_not_data():
    parser = EventParser()
    assert parser.feed("retry: 1500\ndata: a\n\n") == [Event("message", "a")]
    assert parser.retry_ms == 1500


def test_a_retry_that_is_not_all_digits_is_ignored():
    parser = EventParser()
    parser.feed("retry: 1500\n\nretry: 2s\n\nretry: -1\n\n")
    assert parser.retry_ms == 1500


def test_unknown_fields_are_ignored():
    assert fed("foo: bar\ndata: a\n\n") == [Event("message", "a")]


def test_utf8_split_inside_a_character_and_a_leading_bom():
    encoded = "\ufeffdata: café €\n\n".encode()
    assert fed(*(encoded[i : i + 1] for i in range(len(encoded)))) == [Event("message", "café €")]


def test_an_unfinished_event_waits_for_its_blank_line():
    parser = EventParser()
    assert parser.feed("data: complete\n\ndata: cut off") == [Event("message", "complete")]
    assert parser.feed("\n") == []
    assert parser.feed("\n") == [Event("message", "cut off")]


def test_at_the_end_a_held_cr_ends_its_line():
    parser = EventParser()
    assert parser.feed("data: a\r\r") == []  # the second CR may yet be half a CRLF
    assert parser.close() == [Event("message", "a")]


def test_at_the_end_an_unfinished_event_is_dropped():
    parser = EventParser()
    assert parser.feed("data: never finished\n") == []
    assert parser.close() == []


def test_a_whole_body_at_once():
    assert parse(STREAM) == EXPECTED


def test_an_events_data_reads_as_json():
    assert parse(STREAM)[0].json() == {"stage": "metrics"}
