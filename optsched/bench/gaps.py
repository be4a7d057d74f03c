"""Optimality gaps of a method over instances: the question users bring.

For each instance: the method's checked objective, a reference, the gap by
:func:`optsched.result.gap`, and the checker's verdict. References:

* ``bound`` (default): the best proven bound, from the suite's stored
  reference if there is one, else from an exact solve (``cpsat``) within the
  time limit, combined with the family's solver-free bound;
* ``best``: the best known objective, stored (its solution re-checked) or
  from the exact solve;
* any method name: that method's objective on the same instance. The gap is
  then signed: negative means better than the reference method.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..core import WITHIN
from ..solve import solve
from . import references
from .rows import Row, frame


def _reference(
    instance: Any,
    folder: Path | None,
    against: str,
    time_limit: float | None,
    workers: int,
    seed: int,
    exact: str,
) -> tuple[float, str]:
    stored = references.load(instance, folder) if folder is not None else None
    if against in ("bound", "best"):
        if stored is not None:
            value = stored.bound if against == "bound" else stored.objective
            if not math.isnan(value):
                return value, f"stored {against} ({stored.method})"
        r = solve(instance, exact, time_limit=time_limit, workers=workers, seed=seed)
        value = r.bound if against == "bound" else r.objective
        return value, f"{exact} {against} ({r.status.value}, {r.runtime:.1f} s)"
    r = solve(instance, against, time_limit=time_limit, workers=workers, seed=seed)
    return r.objective, f"{against} ({r.status.value})"


def gap_table(
    instances: Sequence[Any],
    method: str,
    against: str = "bound",
    time_limit: float | None = 60.0,
    workers: int = 1,
    seed: int = 0,
    exact: str = "cpsat",
    folders: Sequence[Path | None] | None = None,
    **options: Any,
) -> pd.DataFrame:
    """One :class:`~optsched.bench.rows.Row` per instance, as a frame: objective,
    reference, gap, checker verdict, times.

    ``folders[k]`` is where instance ``k``'s suite keeps ``reference.json``
    (``None``: no stored reference). ``options`` (``solver``, ``params``,
    ``log``) go to ``method``'s runs, not to the reference's. A method that
    refuses an instance keeps its row (status ``unsupported``, no gap).
    """
    rows = []
    for k, inst in enumerate(instances):
        folder = folders[k] if folders is not None else None
        r = solve(inst, method, time_limit=time_limit, workers=workers, seed=seed, **options)
        ref, kind = _reference(inst, folder, against, time_limit, workers, seed, exact)
        rows.append(Row.from_result(r, reference=ref, reference_kind=kind))
    return frame(rows)


def summarize(df: pd.DataFrame) -> dict[str, Any]:
    """Mean, geometric mean (of ``1 + gap``, minus 1), max and count within 0.1%.

    Rows without a finite gap (no solution, no reference) count in ``n`` and in
    ``no_gap`` but not in the statistics.
    """
    g = df["gap"].to_numpy(dtype=float)
    finite = g[np.isfinite(g)]
    if finite.size == 0:
        return {
            "n": int(g.size),
            "no_gap": int(g.size),
            "mean": None,
            "geomean": None,
            "max": None,
            "within_0.1%": 0,
        }
    return {
        "n": int(g.size),
        "no_gap": int(g.size - finite.size),
        "mean": float(finite.mean()),
        "geomean": float(np.exp(np.log1p(np.maximum(finite, -0.999999)).mean()) - 1),
        "max": float(finite.max()),
        "within_0.1%": int((np.abs(finite) <= WITHIN).sum()),
    }
