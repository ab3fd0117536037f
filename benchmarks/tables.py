"""The figures as the small text table ``python -m benchmarks`` prints."""

from __future__ import annotations

import os
import platform
from datetime import date
from importlib.metadata import version

from benchmarks.graph_overhead import GraphFigures
from benchmarks.loop_errors import LoopErrors


def header() -> str:
    libraries = ", ".join(
        f"{name} {version(name)}" for name in ("reactivex", "aiohttp", "pydantic", "msgspec", "orjson")
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
        f"graph overhead, in process, no network: CPU ms per backtest "
        f"({figures.n} per variant, median of {figures.rounds} interleaved rounds)",
        *(f"   {label:<50}{value:>10}" for label, value in rows),
    ]


def loop_errors_lines(errors: LoopErrors) -> list[str]:
    if not errors.count:
        return []
    return [
        "",
        f"WARNING: {errors.count} exception(s) reached the event loop's exception handler during the run,",
        "so some figures include an error path (tracebacks were counted, not printed). First one:",
        *(f"   {line}" for line in errors.first),
    ]
