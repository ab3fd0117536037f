"""A sweep from plan to answer: a plain sweep, or a walk-forward over the same grid."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from orchestrator.research.answer import Document, sweep_answer
from orchestrator.research.plan import SweepPlan
from orchestrator.research.sweep import Sweep
from orchestrator.research.walk_forward import Fold, WalkForward


async def run_sweep(
    plan: SweepPlan, sweep: Sweep, deadline_s: float, on_fold: Callable[[Fold], None] | None = None
) -> Document:
    began = time.monotonic()
    if plan.options.walk_forward is None:
        rows = await sweep.run(plan.combinations, deadline_s)
        return sweep_answer(plan, sweep, rows, _ms_since(began))
    walk = WalkForward(sweep, plan, on_fold or _ignore)
    record = await walk.run(deadline_s)
    return sweep_answer(plan, sweep, walk.rows, _ms_since(began), record)


def planned_results(plan: SweepPlan) -> int:
    """How many ``result`` events the sweep will give: its combinations, once per fold."""
    walk = plan.options.walk_forward
    folds = 1 if walk is None else getattr(walk, "folds", 1)
    return len(plan.combinations) * folds


def _ms_since(began: float) -> int:
    return int((time.monotonic() - began) * 1000)


def _ignore(_: Any) -> None:
    pass
