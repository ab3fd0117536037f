"""traceparent and tracestate read as W3C Trace Context says; anything else starts a new trace. And
``TRACING__EXPORT``: `off` or `otlp`, which needs the `tracing` extra."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from orchestrator.settings import SettingsError, load_settings
from orchestrator.tracing import OTLP_MODULE, TraceContext, parse_traceparent, parse_tracestate

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT = "00f067aa0ba902b7"
HEADER = re.compile(r"00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}")


def test_a_valid_traceparent_is_continued_with_a_span_of_our_own():
    trace = TraceContext.incoming([f"00-{TRACE_ID}-{PARENT}-01"])
    assert (trace.trace_id, trace.parent_id, trace.flags) == (TRACE_ID, PARENT, "01")
    assert re.fullmatch(r"[0-9a-f]{16}", trace.span_id) and trace.span_id != PARENT
    assert trace.traceparent == f"00-{TRACE_ID}-{trace.span_id}-01"


def test_the_callers_flags_are_kept_unsampled_too():
    assert TraceContext.incoming([f"00-{TRACE_ID}-{PARENT}-00"]).flags == "00"


def test_no_traceparent_starts_a_sampled_trace_with_no_parent():
    trace = TraceContext.incoming()
    assert HEADER.fullmatch(trace.traceparent)
    assert (trace.parent_id, trace.flags, trace.tracestate) == (None, "01", None)
    assert TraceContext.incoming().trace_id != trace.trace_id


@pytest.mark.parametrize(
    "value",
    [
        "",
        "garbage",
        f"00-{TRACE_ID}-{PARENT}",  # no flags
        f"00-{TRACE_ID}-{PARENT}-1",  # one flag digit
        f"00-{TRACE_ID[:-1]}-{PARENT}-01",  # a short trace id
        f"00-{TRACE_ID}-{PARENT}0-01",  # a long parent id
        f"00-{TRACE_ID.upper()}-{PARENT}-01",
        f"00-{TRACE_ID}-{PARENT}-0g",
        f"00-{'0' * 32}-{PARENT}-01",
        f"00-{TRACE_ID}-{'0' * 16}-01",
        f"ff-{TRACE_ID}-{PARENT}-01",
        f"0-{TRACE_ID}-{PARENT}-01",
        f"00-{TRACE_ID}-{PARENT}-01-",  # version 00 ends with its flags
        f"00_{TRACE_ID}_{PARENT}_01",
        f"01-{TRACE_ID}-{PARENT}-01x",  # a later version: what follows the flags must start with a dash
    ],
)
def test_an_invalid_traceparent_is_none(value):
    assert parse_traceparent(value) is None


def test_a_later_version_is_read_as_far_as_version_00_goes_keeping_only_the_sampled_flag():
    assert parse_traceparent(f"cc-{TRACE_ID}-{PARENT}-03-what-comes-later") == (TRACE_ID, PARENT, "01")
    assert parse_traceparent(f"01-{TRACE_ID}-{PARENT}-02") == (TRACE_ID, PARENT, "00")


def test_an_invalid_or_repeated_traceparent_starts_a_new_trace_and_drops_its_tracestate():
    valid = f"00-{TRACE_ID}-{PARENT}-01"
    for headers in (["nonsense"], [valid, valid]):
        trace = TraceContext.incoming(headers, ["vendor=value"])
        assert trace.trace_id != TRACE_ID and trace.parent_id is None and trace.tracestate is None


def test_tracestate_is_kept_normalised_from_every_header():
    trace = TraceContext.incoming(
        [f"00-{TRACE_ID}-{PARENT}-01"], ["rojo=00f067aa0ba902b7 ,", " congo=t61rcWkgMzE"]
    )
    assert trace.tracestate == "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE"


@pytest.mark.parametrize(
    "value",
    [
        "",
        "novalue",
        "UPPER=case",
        "a=b,a=c",  # a key twice
        "a=with=equals",
        ",".join(f"k{n}=v" for n in range(33)),  # 33 members
    ],
)
def test_an_invalid_tracestate_is_dropped(value):
    assert parse_tracestate(value) is None


def test_a_multi_tenant_key_is_valid():
    assert parse_tracestate("tenant@system=value") == "tenant@system=value"


def test_a_long_tracestate_is_cut_long_members_first_then_from_the_end():
    big = "big=" + "x" * 200
    members = [f"k{n}=" + "v" * 40 for n in range(14)]  # 14 x 44 characters, 629 with commas
    cut = parse_tracestate(",".join([members[0], big, *members[1:]]))
    assert cut is not None and len(cut) <= 512 and "big=" not in cut
    assert cut.split(",") == members[: len(cut.split(","))]


def test_each_child_is_a_new_span_of_the_trace_with_its_flags_and_tracestate():
    trace = TraceContext(TRACE_ID, "b7ad6b7169203331", "00", PARENT, "congo=t61rcWkgMzE")
    first, second = trace.child_headers(), trace.child_headers()
    assert first["tracestate"] == second["tracestate"] == "congo=t61rcWkgMzE"
    spans = {header["traceparent"].split("-")[2] for header in (first, second)}
    assert len(spans) == 2 and not spans & {trace.span_id, PARENT}
    assert all(header["traceparent"].startswith(f"00-{TRACE_ID}-") for header in (first, second))
    assert all(header["traceparent"].endswith("-00") for header in (first, second))


def test_the_log_fields_are_the_trace_and_our_span_and_the_canonical_line_adds_the_callers():
    trace = TraceContext(TRACE_ID, "b7ad6b7169203331", parent_id=PARENT)
    assert trace.log_fields() == {"trace_id": TRACE_ID, "span_id": "b7ad6b7169203331"}
    assert trace.caller_fields() == {"parent_span_id": PARENT}
    assert TraceContext.start().caller_fields() == {}


def test_export_is_off_by_default():
    assert load_settings(_env_file=None).tracing.export == "off"
    assert load_settings(_env_file=None, tracing={"export": "OFF"}).tracing.export == "off"


def test_export_is_set_from_the_environment(monkeypatch):
    monkeypatch.setenv("TRACING__EXPORT", "otlp")
    assert load_settings(_env_file=None).tracing.export == "otlp"


@pytest.mark.parametrize("value", ["otlp", "OTLP", " otlp "])
def test_otlp_is_taken_in_any_case(value):
    assert load_settings(_env_file=None, tracing={"export": value}).tracing.export == "otlp"


@pytest.mark.parametrize("value", ["console", "on", "", "jaeger"])
def test_any_other_value_is_refused_naming_the_setting(value):
    with pytest.raises(SettingsError, match=r"TRACING__EXPORT: .*must be 'off' or 'otlp'"):
        load_settings(_env_file=None, tracing={"export": value})


def test_otlp_without_the_extra_is_refused_with_the_command_that_installs_it(monkeypatch):
    monkeypatch.setitem(sys.modules, OTLP_MODULE, None)  # as if it were not installed
    with pytest.raises(SettingsError, match=r"pip install 'backtest-orchestrator\[tracing\]'"):
        load_settings(_env_file=None, tracing={"export": "otlp"})


def test_serve_stops_at_once_with_otlp_and_no_opentelemetry_at_all():
    script = (
        "import sys\n"
        "sys.modules['opentelemetry'] = None\n"  # as if the extra were not installed
        "from orchestrator.cli import main\n"
        "sys.exit(main(['serve', '--port', '0']))\n"
    )
    env = {**os.environ, "TRACING__EXPORT": "otlp"}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 2
    assert "TRACING__EXPORT" in done.stderr and "backtest-orchestrator[tracing]" in done.stderr
