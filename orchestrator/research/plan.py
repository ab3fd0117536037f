"""A sweep request, validated: its options, its combinations, and what identifies it.

Everything a sweep can refuse is refused here, before any call: a bad option, a bad grid path, too
many combinations, a combination that is not a valid backtest request, a walk-forward over
anything but daily bars.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from orchestrator.errors import InvalidRequest
from orchestrator.limits import RequestLimits
from orchestrator.research.config import SweepConfig
from orchestrator.research.grid import Combination, combinations
from orchestrator.schemas.research import SWEEP_FIELDS, SweepOptions, parse_sweep_options

#: A backtest request's ``include`` asks for data a sweep's rows do not carry.
_NOT_SWEPT = ("include",)


@dataclass(frozen=True, slots=True)
class SweepPlan:
    options: SweepOptions
    combinations: list[Combination]
    #: The canonical request (validated, defaults filled in), for the fingerprint.
    canonical: dict[str, Any]


def plan_sweep(document: Any, limits: RequestLimits, config: SweepConfig) -> SweepPlan:
    if not isinstance(document, dict):
        raise InvalidRequest("The request body must be a JSON object", {"errors": []})
    options = parse_sweep_options(document)
    base = {key: value for key, value in document.items() if key not in SWEEP_FIELDS + _NOT_SWEPT}
    walk_forward = options.walk_forward is not None
    planned = combinations(base, options.grid, limits, config.max_combinations, allow_market=not walk_forward)
    if walk_forward and planned[0].request.market_params.frequency != "daily":
        raise InvalidRequest(
            "A walk-forward counts its windows in trading days: market_params.frequency must be daily",
            {"errors": [{"field": "market_params.frequency", "message": "must be daily for a walk-forward"}]},
        )
    canonical = {
        "base": planned[0].request.model_dump(mode="json", exclude={"include"}),
        **options.model_dump(mode="json"),
    }
    # The base's values at the grid's paths are those of the first combination: not part of the question.
    return SweepPlan(options, planned, canonical)
