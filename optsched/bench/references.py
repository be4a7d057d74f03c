"""Stored reference values: best known solutions and proven bounds of a suite.

A suite folder holds ``reference.json``::

    {"format": "optsched-reference", "version": 1,
     "entries": {"<instance name>": {"objective": ..., "bound": ..., "status": ...,
                                     "method": ..., "solver": ..., "time": ...,
                                     "solution": "solutions/<name>.json"}}}

Stored objectives are never trusted: :func:`load` re-checks every stored
solution with the family's checker and re-scores it; an entry whose solution
is infeasible, or whose recomputed objective crosses its bound, is an error.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..core import REFERENCE_ABS_TOL, REFERENCE_TOL, Sense
from ..errors import InputError
from ..io import loads, read_solution, read_text
from ..problems import check

REFERENCE_FORMAT = "optsched-reference"
REFERENCE_FILE = "reference.json"


@dataclass(frozen=True)
class Reference:
    """A checked reference: best known objective (re-scored) and best proven bound."""

    objective: float
    bound: float
    status: str
    method: str
    solver: str
    time: float
    solution: Any


def load(instance: Any, folder: Path) -> Reference | None:
    """The reference of ``instance`` stored in ``folder``, re-checked; None if absent."""
    path = folder / REFERENCE_FILE
    if not path.exists():
        return None
    data = loads(read_text(path), str(path))
    if (
        not isinstance(data, dict)
        or data.get("format") != REFERENCE_FORMAT
        or data.get("version") != 1
        or not isinstance(data.get("entries", {}), dict)
    ):
        raise InputError(f"{path}: not an optsched reference file (format version 1)")
    entry = data.get("entries", {}).get(instance.name)
    if entry is None:
        return None
    solution = read_solution(folder / entry["solution"], instance)
    report = check(instance, solution)
    if not report.feasible:
        kinds = ", ".join(report.by_kind())
        raise InputError(f"{path}: stored solution of {instance.name!r} is infeasible ({kinds})")
    stored = entry.get("objective")
    if stored is not None and not math.isclose(
        stored, report.objective, rel_tol=REFERENCE_TOL, abs_tol=REFERENCE_ABS_TOL
    ):
        raise InputError(
            f"{path}: stored objective of {instance.name!r} is {stored!r} but "
            f"its solution scores {report.objective!r}"
        )
    bound = entry.get("bound")
    bound = float(bound) if bound is not None else math.nan
    if not math.isnan(bound):
        crosses = (
            (report.objective < bound)
            if instance.sense is Sense.MIN
            else (report.objective > bound)
        )
        if crosses and not math.isclose(
            report.objective, bound, rel_tol=REFERENCE_TOL, abs_tol=REFERENCE_ABS_TOL
        ):
            raise InputError(
                f"{path}: stored bound {bound!r} of {instance.name!r} crosses its "
                f"solution's objective {report.objective!r}"
            )
    return Reference(
        report.objective,
        bound,
        entry.get("status", ""),
        entry.get("method", ""),
        entry.get("solver", ""),
        float(entry.get("time", math.nan)),
        solution,
    )
