"""A sweep's grid: dotted paths into the backtest request, each with the values to try.

::

    grid  {"strategy_params.config.price_change_threshold": [-0.03, -0.05],
           "market_params.ticker": ["TQQQ", "SPY"]}
    ->    0: -0.03 TQQQ   1: -0.03 SPY   2: -0.05 TQQQ   3: -0.05 SPY   (the last key fastest)

Every combination is the base request with its values written in, validated as a backtest request.
"""

from __future__ import annotations

import copy
import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from math import prod
from typing import Any

from orchestrator.errors import ApiError, InvalidRequest
from orchestrator.limits import RequestLimits
from orchestrator.schemas.requests import BacktestRequest, parse_backtest

#: Where a path may go: the request's parts and their fields; under ``strategy_params.config``
#: anything (a strategy's config is its own).
_FIELDS = {
    name: tuple(getattr(field.annotation, "model_fields", ()))
    for name, field in BacktestRequest.model_fields.items()
    if name != "include"
}
FREE_FORM = ("strategy_params", "config")


@dataclass(frozen=True, slots=True)
class Combination:
    """One setting of the grid: its place in the grid's order, its values by path, its request."""

    index: int
    params: dict[str, Any]
    request: BacktestRequest


def path_problem(path: str, allow_market: bool = True) -> str | None:
    """Why ``path`` cannot be a grid key, or None when it can."""
    parts = tuple(path.split("."))
    if parts[0] not in _FIELDS:
        return f"must start with one of {', '.join(sorted(_FIELDS))}"
    if parts[0] == "market_params" and not allow_market:
        return "a walk-forward sweeps one market: the grid may not vary market_params"
    fields = _FIELDS[parts[0]]
    if not fields:
        return None if len(parts) == 1 else f"{parts[0]} has no fields"
    if len(parts) < 2 or parts[1] not in fields:
        return f"must name a field of {parts[0]}: {', '.join(fields)}"
    if len(parts) > 2 and parts[:2] != FREE_FORM:
        return f"{parts[0]}.{parts[1]} has no fields"
    if parts[:2] == FREE_FORM and len(parts) == 2:
        return "must name a key of the config, e.g. strategy_params.config.price_change_threshold"
    return None


def path_pattern() -> str:
    """:func:`path_problem`'s rule as one regular expression, the ``propertyNames`` of a grid in the
    API's document: a fixed path, or anything under ``strategy_params.config.``. (A walk-forward's
    grid may not vary ``market_params``: that depends on another field, and is checked here only.)

    It means the same in ECMA-262 (JSON Schema's dialect) and in Python's ``re`` (most validators'):
    the end is ``(?![\\s\\S])``, nothing after, because Python's ``$`` also matches before a final
    newline, so ``^use_test_data$`` would allow a key the rule refuses."""
    fixed = [
        f"{part}.{name}" if name else part
        for part, fields in _FIELDS.items()
        for name in fields or ("",)
        if (part, name) != FREE_FORM
    ]
    free = "\\.".join(FREE_FORM) + "\\."
    return f"^(?:{free}|(?:{'|'.join(re.escape(path) for path in fixed)})(?![\\s\\S]))"


def size(grid: dict[str, list[Any]]) -> int:
    return prod(len(values) for values in grid.values())


def settings(grid: dict[str, list[Any]]) -> Iterator[dict[str, Any]]:
    """Each combination's values by path, in the grid's order."""
    paths = list(grid)
    for values in itertools.product(*grid.values()):
        yield dict(zip(paths, values, strict=True))


def written(base: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    """``base`` with each value written at its path (objects made on the way where missing)."""
    document = copy.deepcopy(base)
    for path, value in params.items():
        *parents, last = path.split(".")
        node = document
        for part in parents:
            if not isinstance(node.get(part), dict):
                node[part] = {}
            node = node[part]
        node[last] = value
    return document


def combinations(
    base: dict[str, Any],
    grid: dict[str, list[Any]],
    limits: RequestLimits,
    max_combinations: int,
    allow_market: bool = True,
) -> list[Combination]:
    """Every combination of ``grid`` over ``base``, each a valid backtest request; or
    INVALID_REQUEST for a bad path, too many combinations, or the first invalid combination."""
    problems = [
        {"field": f"grid.{path}", "message": problem}
        for path in grid
        if (problem := path_problem(path, allow_market)) is not None
    ]
    if problems:
        raise InvalidRequest(f"Invalid grid: {len(problems)} problem(s) found", {"errors": problems})
    count = size(grid)
    if count > max_combinations:
        raise InvalidRequest(
            f"The grid makes {count} combinations; a sweep may have at most {max_combinations}",
            {"errors": [], "combinations": count, "max_combinations": max_combinations},
        )
    return [combination(index, base, params, limits) for index, params in enumerate(settings(grid))]


def combination(
    index: int, base: dict[str, Any], params: dict[str, Any], limits: RequestLimits
) -> Combination:
    """The grid's setting ``index`` as a backtest request; an invalid one is refused naming it
    (``details.combination``, its problems' fields under ``grid[index].``), for a sweep and a job alike."""
    try:
        return Combination(index, params, parse_backtest(written(base, params), limits))
    except ApiError as error:
        errors = [
            {**problem, "field": f"grid[{index}].{problem['field']}"}
            for problem in error.details.get("errors", [])
        ]
        error.details = {**error.details, **({"errors": errors} if errors else {}), "combination": index}
        error.message = f"Combination {index} of the grid is not a valid backtest request: {error.message}"
        raise
