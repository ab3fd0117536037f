"""The worker every orchestrator process runs: it claims shards and runs their settings.

::

    lane 1 ─┐                        ┌─ shard 7 of job A: settings 175..199, next 183
    lane 2 ─┼── the next setting of ─┤
    ...     │   a shard in hand;     └─ (none left: one lane claims the next shard, jobs in turn)
    lane k ─┘   else claim another
      each setting: wait for room (admission and bulkheads keep a reserve for interactive
      requests) -> Sweep.backtest (research/sweep.py, markets shared per job) -> store.put_row

``JOBS__CONCURRENCY`` lanes run one setting each. A shard is done when its last setting is kept:
the store counts it (once), then the queue acks it. Three tasks run beside the lanes: one touches
the shards in hand every third of the visibility timeout (a shard another worker took over is
dropped here), one looks every ``WATCH_S`` at the jobs in hand and stops every setting of a job
cancelled or over (so a cancel stops calls in flight within a second on every replica). Stopping
(SIGTERM) hands the rest of each shard back to the queue at once, for other processes or the next.
"""

from __future__ import annotations

import asyncio
import math
import os
import secrets
import socket
import time
from collections import Counter, OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
import structlog

from orchestrator.backtest.admission import Admission
from orchestrator.backtest.graph import Backtester
from orchestrator.errors import ServiceTimeout, to_api_error
from orchestrator.jobs.backend import JobStore, Record, ShardQueue
from orchestrator.jobs.config import JobsConfig
from orchestrator.jobs.model import FINISHED, Shard, rank_score, source_key
from orchestrator.jobs.plan import JobPlan, plan_job
from orchestrator.limits import RequestLimits
from orchestrator.research.ranking import Row
from orchestrator.research.sweep import Sweep

log = structlog.get_logger("orchestrator.jobs")

#: How often the jobs in hand are looked at for a cancel.
WATCH_S = 0.25
#: How long a lane waits before it looks again for room under the admission limit and bulkheads.
ROOM_POLL_S = 0.02
#: How long one claim waits for a shard when there is none.
CLAIM_WAIT_S = 1.0
#: Jobs whose plan and shared markets a process keeps at once.
CONTEXTS = 16


@dataclass
class _Job:
    """What this process keeps of a job while it runs its shards: its plan, and one Sweep whose
    markets (prices, dividends, baseline) every setting here shares."""

    plan: JobPlan
    sweep: Sweep
    reported: Counter[str] = field(default_factory=Counter)
    sources: set[str] = field(default_factory=set)
    markets: set[str] = field(default_factory=set)


@dataclass(eq=False)
class _Run:
    """A shard in hand."""

    shard: Shard
    next: int
    running: dict[int, asyncio.Task[None]] = field(default_factory=dict)
    #: Taken and not kept yet (running, or stopped mid-way).
    unkept: set[int] = field(default_factory=set)
    stopped: bool = False
    #: Counted done by the store and acked.
    finished: bool = False
    #: Taken over by another worker (this one was not heard from in time): never handed back.
    lost: bool = False

    @property
    def exhausted(self) -> bool:
        return self.next >= self.shard.stop

    def unfinished_from(self) -> int:
        return min([*self.unkept, self.next])


class Worker:
    def __init__(
        self,
        store: JobStore,
        queue: ShardQueue,
        config: JobsConfig,
        limits: RequestLimits,
        backtester: Backtester,
        admission: Admission,
        ended: Callable[[Record], None] = lambda record: None,
    ) -> None:
        self.store, self.queue, self.config, self.limits = store, queue, config, limits
        self.backtester, self.admission = backtester, admission
        #: Told of each job whose last shard this worker counted (whichever replica made it).
        self.ended = ended
        self.consumer = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
        self._runs: list[_Run] = []
        self._jobs: OrderedDict[str, _Job] = OrderedDict()
        self._claiming = asyncio.Lock()
        self._planning = asyncio.Lock()
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = False

    # --- start and stop ---------------------------------------------------------------------------

    def start(self) -> None:
        lanes = [self._lane() for _ in range(self.config.concurrency)]
        self._tasks = [asyncio.ensure_future(work) for work in (*lanes, self._touching(), self._watching())]

    async def stop(self) -> None:
        """Stop every setting in hand and give each shard's rest back to the queue."""
        if self._stopping:
            return
        self._stopping = True
        in_hand = list(self._runs)
        for task in self._tasks:
            task.cancel()
        for run in in_hand:
            for task in run.running.values():
                task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for run in in_hand:
            if run.finished or run.lost:
                continue
            try:
                await self.queue.release(run.shard, run.unfinished_from())
            except Exception as error:  # the shard comes back after the visibility timeout instead
                log.warning("job_shard_not_released", job=run.shard.job, error=repr(error))
        self._runs.clear()

    # --- the lanes ------------------------------------------------------------------------------

    async def _lane(self) -> None:
        # Checked as well as cancelled: redis-py may turn a cancel in mid-read into an error of its own.
        while not self._stopping:
            try:
                taken = await self._next_setting()
                if taken is not None:
                    await self._run_setting(*taken)
            except asyncio.CancelledError:
                raise
            except Exception as error:  # Redis away, most likely: wait, then carry on
                log.warning("job_lane_failed", error=f"{type(error).__name__}: {error}"[:300])
                await asyncio.sleep(1.0)

    async def _next_setting(self) -> tuple[_Run, int] | None:
        taken = self._take()
        if taken is not None:
            return taken
        async with self._claiming:
            taken = self._take()  # another lane may have claimed meanwhile
            if taken is not None:
                return taken
            for shard in await self.queue.claim(self.consumer, CLAIM_WAIT_S):
                if shard.start < shard.stop:
                    self._runs.append(_Run(shard, shard.start))
                else:  # handed back by a worker stopped as it finished it: count it done here
                    await self._nothing_left(shard)
        return self._take()

    def _take(self) -> tuple[_Run, int] | None:
        for run in self._runs:
            if not run.stopped and not run.exhausted:
                index, run.next = run.next, run.next + 1
                run.unkept.add(index)
                return run, index
        return None

    async def _run_setting(self, run: _Run, index: int) -> None:
        job: _Job | None = None
        try:
            job = await self._job(run.shard.job)
            if job is not None:
                await self._kept(run, job, index)
        finally:
            if job is None or index in run.unkept:
                # a job over, a lost shard, or Redis away: this worker leaves the shard, and the
                # queue hands it out again (a job that is over has no shards left to hand out)
                run.stopped = True
            if not run.running and (run.stopped or run.exhausted):
                self._forget(run)
        if job is not None and not run.stopped and run.exhausted and not run.running and not run.unkept:
            await self._shard_done(run, job)

    async def _kept(self, run: _Run, job: _Job, index: int) -> None:
        """The setting's row made and kept, in a task of its own: cancelling it (a cancel, a lost
        shard) does not cancel the lane."""
        task = asyncio.ensure_future(self._setting(run, job, index))
        run.running[index] = task
        try:
            await asyncio.wait({task})
        finally:
            run.running.pop(index, None)
        if not task.cancelled() and task.exception() is not None:
            log.warning("job_setting_not_kept", job=run.shard.job, error=repr(task.exception()))

    async def _setting(self, run: _Run, job: _Job, index: int) -> None:
        await self._room()
        began, outcome = time.monotonic(), "cancelled"
        try:
            row = await self._row(job, index)
            outcome = row["error"]["code"] if "error" in row else "success"
        finally:
            latency = time.monotonic() - began if outcome == "success" else None
            self.admission.done(latency, dropped=outcome == ServiceTimeout.code)
        if not run.stopped:
            await self.store.put_row(run.shard.job, index, row, rank_score(row, job.plan.rank_by))
            run.unkept.discard(index)

    async def _row(self, job: _Job, index: int) -> Row:
        try:
            combination = job.plan.setting(index)
        except Exception as error:
            api_error = to_api_error(error)
            return {
                "index": index,
                "params": job.plan.params(index),
                "error": {"code": api_error.code, "message": api_error.message, "details": api_error.details},
            }
        return await job.sweep.backtest(combination)

    async def _room(self) -> None:
        """Until a setting may start without taking the last places interactive requests need."""
        # Slots and bulkhead places are given back by whatever held them, with no signal to wait on.
        while True:
            if self._has_room():
                return
            await asyncio.sleep(ROOM_POLL_S)

    def _has_room(self) -> bool:
        limit, share = self.admission.limit, self.config.reserve
        if self.admission.draining or limit.in_flight + _kept(limit.limit, share) >= limit.limit:
            return False
        for client in self.backtester.downstream.services():
            bulkhead = client.policy.bulkhead
            if bulkhead.in_flight + _kept(bulkhead.max_in_flight, share) >= bulkhead.max_in_flight:
                return False
        return self.admission.admit()

    async def _shard_done(self, run: _Run, job: _Job) -> None:
        shard = run.shard
        await self._report(shard.job, job)
        ended = await self.store.shard_done(shard.job, shard.number, self.config.ttl_s)
        if ended is not None:
            await self.queue.drop(shard.job)
            self._jobs.pop(shard.job, None)
            self.ended(ended)
            log.info("job_finished", job=shard.job, status=ended["status"], total=ended["total"])
        else:
            await self.queue.ack(shard)
        run.finished = True

    async def _nothing_left(self, shard: Shard) -> None:
        job = await self._job(shard.job)
        if job is not None:
            await self._shard_done(_Run(shard, shard.stop), job)

    async def _report(self, job_id: str, job: _Job) -> None:
        """The calls made since the last report, and any data source or market not reported yet."""
        spent = job.sweep.calls - job.reported
        job.reported.update(spent)
        sources = [source for key, source in _sources(job.sweep).items() if key not in job.sources]
        job.sources.update(_sources(job.sweep))
        markets = job.sweep.market_fingerprints - job.markets
        job.markets |= markets
        if spent or sources or markets:
            await self.store.add_provenance(job_id, dict(spent), sources, markets)

    def _forget(self, run: _Run) -> None:
        if run in self._runs and not run.running:
            self._runs.remove(run)

    async def _job(self, job_id: str) -> _Job | None:
        """The job's plan and shared markets in this process, made on its first shard here."""
        job = self._jobs.get(job_id)
        if job is not None:
            self._jobs.move_to_end(job_id)
            return job
        async with self._planning:  # one plan and one set of markets per job, however many lanes ask
            if job_id not in self._jobs:
                await self._plan(job_id)
        return self._jobs.get(job_id)

    async def _plan(self, job_id: str) -> None:
        record = await self.store.get(job_id)
        if record is None or record["status"] in FINISHED:
            return
        plan = plan_job(orjson.loads(record["document"]), self.limits, self.config.max_settings)
        sweep = Sweep(self.backtester, job_id, concurrency=1)
        self._jobs[job_id] = _Job(plan, sweep)
        while len(self._jobs) > CONTEXTS:
            self._jobs.popitem(last=False)

    # --- beside the lanes -------------------------------------------------------------------------

    async def _touching(self) -> None:
        while not self._stopping:
            await asyncio.sleep(self.config.visibility_timeout_s / 3)
            for run in list(self._runs):
                try:
                    held = await self.queue.touch(run.shard, self.consumer)
                except Exception as error:
                    log.warning("job_touch_failed", error=repr(error))
                    continue
                if not held:
                    log.warning("job_shard_taken_over", job=run.shard.job, shard=run.shard.number)
                    run.lost = True
                    self._stop(run)

    async def _watching(self) -> None:
        while not self._stopping:
            await asyncio.sleep(WATCH_S)
            for job_id in {run.shard.job for run in self._runs}:
                try:
                    record = await self.store.get(job_id)
                except Exception:
                    continue
                if record is None or record["status"] in FINISHED:
                    for run in [run for run in self._runs if run.shard.job == job_id]:
                        self._stop(run)
                    self._jobs.pop(job_id, None)

    def _stop(self, run: _Run) -> None:
        run.stopped = True
        for task in run.running.values():
            task.cancel()
        self._forget(run)


def _kept(places: int, share: float) -> int:
    """The places job work leaves free: ``share`` of them, at least one."""
    return max(1, math.ceil(places * share))


def _sources(sweep: Sweep) -> dict[str, dict[str, Any]]:
    return {source_key(source): source for source in sweep.data_sources.values()}
