"""A job's body, validated, and its settings made one at a time from their index.

::

    {"kind": "sweep", ...what POST /api/sweep takes}     -> total = the grid's product
    {"kind": "compare", ...what POST /api/compare takes} -> total = its strategies

A sweep's settings are never all made: ``setting(i)`` writes the i-th point of the grid's product
(the last key fastest, as ``research/grid.py`` orders them) into the base request, so a job of a
million settings holds its grid, not a million requests. Submitting checks what can be checked
without making them all: the options, every grid path, the count, and the first setting; a later
setting that is not a valid backtest request becomes a row with its error, as a failing call does.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import Field, ValidationError

from orchestrator.errors import InvalidRequest
from orchestrator.limits import RequestLimits
from orchestrator.research.compare import plan_compare
from orchestrator.research.grid import Combination, combination, path_problem, size
from orchestrator.research.ranking import order
from orchestrator.schemas.requests import _describe, _Strict
from orchestrator.schemas.research import SWEEP_FIELDS, WHOLE, Metric, parse_sweep_options

Kind = Literal["sweep", "compare"]
KINDS: tuple[Kind, ...] = ("sweep", "compare")

#: What a job adds to a comparison's body: how its table is ranked.
COMPARE_FIELDS = ("rank_by", "top_k")


class CompareOptions(_Strict):
    rank_by: Metric = "sharpe_ratio"
    top_k: Annotated[int, Field(ge=1, le=100), WHOLE] = 5  # 3.0 is 3, as JSON Schema's integer


@dataclass(frozen=True, slots=True)
class JobPlan:
    """What a job runs: ``total`` settings, each made by ``setting(index)``, ranked by ``rank_by``."""

    kind: Kind
    total: int
    rank_by: str
    top_k: int
    #: The canonical request (validated, defaults filled in), for the job's fingerprint.
    canonical: dict[str, Any]
    make: Callable[[int], Combination]
    #: The values of the setting at an index (known even when its request is invalid).
    params: Callable[[int], dict[str, Any]]

    @property
    def order(self) -> str:
        return order(self.rank_by)

    def setting(self, index: int) -> Combination:
        """The setting at ``index``; an ApiError when it is not a valid backtest request."""
        if not 0 <= index < self.total:
            raise IndexError(index)
        return self.make(index)


def plan_job(document: Any, limits: RequestLimits, max_settings: int) -> JobPlan:
    if not isinstance(document, dict):
        raise InvalidRequest("The request body must be a JSON object", {"errors": []})
    kind = document.get("kind")
    if kind not in KINDS:
        message = f"must be one of {', '.join(KINDS)}"
        raise InvalidRequest(
            f"Invalid job: kind {message}", {"errors": [{"field": "kind", "message": message}]}
        )
    body = {key: value for key, value in document.items() if key != "kind"}
    return (
        plan_sweep_job(body, limits, max_settings)
        if kind == "sweep"
        else plan_compare_job(body, limits, max_settings)
    )


def plan_sweep_job(body: dict[str, Any], limits: RequestLimits, max_settings: int) -> JobPlan:
    options = parse_sweep_options(body)
    if options.walk_forward is not None:
        _refuse("walk_forward", "a job runs a plain sweep; POST /api/sweep runs a walk-forward")
    if options.include_time_series:
        _refuse("include_time_series", "a job's rows carry no time series; must be false")
    problems = [
        {"field": f"grid.{path}", "message": problem}
        for path in options.grid
        if (problem := path_problem(path)) is not None
    ]
    if problems:
        raise InvalidRequest(f"Invalid grid: {len(problems)} problem(s) found", {"errors": problems})
    total = size(options.grid)
    if total > max_settings:
        raise InvalidRequest(
            f"The grid makes {total} settings; a job may have at most {max_settings}",
            {"errors": [], "settings": total, "max_settings": max_settings},
        )
    base = {key: value for key, value in body.items() if key not in (*SWEEP_FIELDS, "include")}
    grid = options.grid

    def make(index: int) -> Combination:
        return combination(index, base, params_at(grid, index), limits)

    first = make(0)
    canonical = {
        "base": first.request.model_dump(mode="json", exclude={"include"}),
        **options.model_dump(mode="json"),
    }
    return JobPlan(
        "sweep", total, options.rank_by, options.top_k, canonical, make, lambda index: params_at(grid, index)
    )


def plan_compare_job(body: dict[str, Any], limits: RequestLimits, max_settings: int) -> JobPlan:
    try:
        options = CompareOptions.model_validate({name: body[name] for name in COMPARE_FIELDS if name in body})
    except ValidationError as error:
        errors = _describe(error)
        raise InvalidRequest(f"Invalid job: {len(errors)} problem(s) found", {"errors": errors}) from None
    rest = {key: value for key, value in body.items() if key not in COMPARE_FIELDS}
    planned = plan_compare(rest, limits, max_settings)
    settings = [
        Combination(index, spec.model_dump(mode="json"), request)
        for index, (spec, request) in enumerate(planned)
    ]
    canonical = {
        "base": planned[0][1].model_dump(mode="json", exclude={"strategy_params", "include"}),
        "strategies": [spec.model_dump(mode="json") for spec, _ in planned],
        **options.model_dump(mode="json"),
    }
    return JobPlan(
        "compare",
        len(settings),
        options.rank_by,
        options.top_k,
        canonical,
        settings.__getitem__,
        lambda index: settings[index].params,
    )


def params_at(grid: dict[str, list[Any]], index: int) -> dict[str, Any]:
    """The ``index``-th point of the grid's product, the last key varying fastest."""
    chosen: dict[str, Any] = {}
    for path in reversed(list(grid)):
        values = grid[path]
        index, place = divmod(index, len(values))
        chosen[path] = values[place]
    return {path: chosen[path] for path in grid}


def _refuse(field: str, message: str) -> None:
    raise InvalidRequest(
        f"Invalid job: {field} {message}", {"errors": [{"field": field, "message": message}]}
    )
