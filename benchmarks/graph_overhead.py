"""What the reactive graph costs in CPU, with the network and the JSON parsing taken away.

Three figures, all CPU time (``time.process_time``) per backtest, from one process and one run:

* **graph**: the orchestrator's real ``Backtester.graph``, run and awaited the way the handler does
  it, with the real clients, call tracker, per-call timeouts, error mapping and overall deadline.
  Only the transport is replaced: it answers each request at once, in a task of its own, with the
  service's answer serialized once up front. What remains is building and serializing request
  bodies, reading and validating answers, reactivex scheduling, and ``assemble_answer``.
* **reference**: the same dependency graph in plain asyncio (a task group, awaits in dependency
  order, ``asyncio.timeout`` per call and overall, the same clients building the same bodies, the
  same transport, the same answer reading, the same ``assemble_answer``). Their difference is what
  the operators cost.
* **assembly**: ``assemble_answer`` alone, and ``assemble_answer`` plus ``json_http.dump`` (the
  answer's serialization), which every backtest pays on top of the graph.

Rounds alternate between the variants so that a noisy neighbour on a shared machine hits both;
each figure is the median over rounds.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import orjson

from benchmarks.backtests import (
    REQUEST_ID,
    AsyncClients,
    InstantTransport,
    graph_backtest,
    graph_backtester,
    reference_backtest,
)
from benchmarks.models import Models, parsed_request
from fakes.realistic import Payloads
from orchestrator.backtest.answer import Document, assemble_answer
from orchestrator.backtest.graph import Backtester
from orchestrator.schemas.requests import BacktestRequest
from orchestrator.web.json_http import dump

# --- measuring ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class GraphFigures:
    """CPU milliseconds per backtest, each the median over rounds."""

    graph_ms: float
    reference_ms: float
    assembly_ms: float
    assembly_dump_ms: float
    n: int
    rounds: int

    @property
    def ratio(self) -> float:
        return self.graph_ms / self.reference_ms

    @property
    def overhead_ms(self) -> float:
        return self.graph_ms - self.reference_ms


async def cpu_ms_async(backtest: Callable[[], Awaitable[object]], n: int) -> float:
    """CPU ms per call of ``n`` sequential awaited calls."""
    began = time.process_time()
    for _ in range(n):
        await backtest()
    return (time.process_time() - began) * 1000 / n


def cpu_ms_sync(work: Callable[[], object], n: int) -> float:
    began = time.process_time()
    for _ in range(n):
        work()
    return (time.process_time() - began) * 1000 / n


async def measure(n: int, rounds: int = 5) -> GraphFigures:
    """Run every variant ``n`` times in total, in ``rounds`` interleaved rounds, after a warm-up."""
    payloads = Payloads.build()
    request, gathered, transport = (
        parsed_request(),
        Models.build(payloads).gathered(),
        InstantTransport(payloads.answerer()),
    )
    backtester, clients = graph_backtester(transport), AsyncClients.build(transport)
    await _check_same_answer(request, backtester, clients)

    def graph() -> Awaitable[Document]:
        return graph_backtest(request, backtester)

    def reference() -> Awaitable[Document]:
        return reference_backtest(request, clients)

    def assembly() -> Document:
        return assemble_answer(request, gathered, REQUEST_ID, 0)

    def assembly_dump() -> bytes:
        return dump(assemble_answer(request, gathered, REQUEST_ID, 0))

    per_round = max(1, n // rounds)
    samples: dict[str, list[float]] = {"graph": [], "reference": [], "assembly": [], "assembly_dump": []}
    await cpu_ms_async(graph, min(per_round, 50))  # warm-up: caches, first-use paths
    await cpu_ms_async(reference, min(per_round, 50))
    for _ in range(rounds):
        samples["graph"].append(await cpu_ms_async(graph, per_round))
        samples["reference"].append(await cpu_ms_async(reference, per_round))
        samples["assembly"].append(cpu_ms_sync(assembly, per_round))
        samples["assembly_dump"].append(cpu_ms_sync(assembly_dump, per_round))
    medians = {name: statistics.median(values) for name, values in samples.items()}
    return GraphFigures(
        graph_ms=medians["graph"],
        reference_ms=medians["reference"],
        assembly_ms=medians["assembly"],
        assembly_dump_ms=medians["assembly_dump"],
        n=per_round * rounds,
        rounds=rounds,
    )


async def _check_same_answer(request: BacktestRequest, backtester: Backtester, clients: AsyncClients) -> None:
    """Both variants must compute the same answer, or the comparison means nothing."""
    ours, theirs = await graph_backtest(request, backtester), await reference_backtest(request, clients)
    ours, theirs = orjson.loads(dump(ours)), orjson.loads(dump(theirs))
    for answer in (ours, theirs):
        del answer["data"]["metadata"]["execution_time_ms"]
    if ours != theirs:
        raise AssertionError("the plain-asyncio reference does not give the graph's answer")
