"""The figures as the small text table ``python -m benchmarks`` prints."""

from __future__ import annotations

import os
import platform
from datetime import date
from importlib.metadata import version

from benchmarks.end_to_end import EndToEndFigures, Sample
from benchmarks.graph_overhead import GraphFigures
from benchmarks.loop_errors import LoopErrors


def header() -> str:
    libraries = ", ".join(
        f"{name} {version(name)}" for name in ("reactivex", "aiohttp", "pydantic", "orjson")
    )
    return (
        f"Orchestrator benchmarks, {date.today().isoformat()}: Python {platform.python_version()}, "
        f"{os.cpu_count()} CPUs, {platform.system()} {platform.machine()}; {libraries}"
    )


def graph_table(figures: GraphFigures) -> list[str]:
    rows = [
        ("reactivex graph (Backtester.graph)", f"{figures.graph_ms:.3f}"),
        ("plain asyncio reference, same calls and answer", f"{figures.reference_ms:.3f}"),
        ("ratio graph / reference", f"{figures.ratio:.1f}x"),
        ("graph - reference (what the operators cost)", f"{figures.overhead_ms:.3f}"),
        ("assemble_answer alone", f"{figures.assembly_ms:.3f}"),
        ("assemble_answer + json_http.dump", f"{figures.assembly_dump_ms:.3f}"),
    ]
    return [
        f"1. Graph overhead, no network: CPU ms per backtest "
        f"({figures.n} per variant, median of {figures.rounds} interleaved rounds)",
        *(f"   {label:<50}{value:>10}" for label, value in rows),
    ]


def end_to_end_table(figures: EndToEndFigures) -> list[str]:
    requests = next(iter(figures.samples.values())).requests
    lines = [
        f"2. End to end over loopback ({requests} requests per row); CPU is the whole process:",
        "   client + orchestrator + fake services, on one event loop",
        f"   {'path':<30}{'conc.':>6}{'req/s':>9}{'p50 ms':>9}{'p95 ms':>9}{'CPU ms/backtest':>17}",
    ]
    for concurrency in figures.concurrencies:
        ours, direct = (
            figures.samples[("orchestrator", concurrency)],
            figures.samples[("direct", concurrency)],
        )
        lines += [
            _sample_row("via the orchestrator", concurrency, ours),
            _sample_row("direct, 7 calls (reference)", concurrency, direct),
            _ratio_row(concurrency, ours, direct),
        ]
    return lines


def _sample_row(label: str, concurrency: int, sample: Sample) -> str:
    return (
        f"   {label:<30}{concurrency:>6}{sample.per_second:>9.1f}{sample.latency_ms(0.5):>9.2f}"
        f"{sample.latency_ms(0.95):>9.2f}{sample.cpu_ms:>17.2f}"
    )


def _ratio_row(concurrency: int, ours: Sample, direct: Sample) -> str:
    ratios = (
        ours.per_second / direct.per_second,
        ours.latency_ms(0.5) / direct.latency_ms(0.5),
        ours.latency_ms(0.95) / direct.latency_ms(0.95),
    )
    cells = "".join(f"{f'{ratio:.2f}x':>9}" for ratio in ratios)
    cpu = f"{ours.cpu_ms / direct.cpu_ms:.2f}x"
    return f"   {'ratio orchestrator / direct':<30}{concurrency:>6}{cells}{cpu:>17}"


def loop_errors_lines(errors: LoopErrors) -> list[str]:
    if not errors.count:
        return []
    return [
        "",
        f"WARNING: {errors.count} exception(s) reached the event loop's exception handler during the run,",
        "so some figures include an error path (tracebacks were counted, not printed). First one:",
        *(f"   {line}" for line in errors.first),
    ]
