"""One row type for every table: bench cells, gap rows and experiment scripts.

A :class:`Row` is one (instance, method, seed) run with its checked objective,
its proven bound, the reference its gap is measured against, and how it ran.
:func:`optsched.core.jsonable` is the one serializer (results, rows, reports):
non-finite numbers become ``null`` (JSON has no ``inf``), and
:func:`Row.from_dict` turns them back into ``nan`` so that pandas sees a number.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import pandas as pd

from ..core import Sense, jsonable
from ..errors import InputError
from ..result import Result, gap

#: Numeric columns: ``None`` in a file is ``nan`` in a frame.
NUMERIC = ("objective", "bound", "reference", "best_known", "gap", "gap_to_best_known", "time")


def dumps(value: Any) -> str:
    """One JSON line; never ``NaN`` or ``Infinity``."""
    return json.dumps(jsonable(value), allow_nan=False, default=str)


@dataclass
class Row:
    """One run of a method on an instance, as every table records it.

    Attributes
    ----------
    objective, bound
        The checker's objective (``nan`` without a solution) and the run's
        proven bound (combined with the family's solver-free bound).
    reference, reference_kind
        What ``gap`` is measured against: the best proven bound known (the
        run's own, or a suite's stored one), a best known objective, or another
        method's objective; and which.
    gap
        :func:`optsched.result.gap` of ``objective`` against ``reference``.
    best_known, gap_to_best_known
        A suite's stored best objective, and the gap to it.
    time
        Wall-clock seconds of the run, model building included.
    cell_key
        A bench cell's key (:func:`optsched.bench.run.cell_key`): a rerun of the
        same cell replaces the row, and rows of two runs of one cell count once.
    extra
        Columns of an experiment's own (grid cell, criterion, ...).
    """

    instance: str
    family: str
    method: str
    status: str
    objective: float
    bound: float
    reference: float
    reference_kind: str
    gap: float
    time: float
    feasible: bool | None
    solver: str = ""
    seed: int = 0
    time_limit: float | None = None
    workers: int = 1
    suite: str = ""
    file: str = ""
    best_known: float = math.nan
    gap_to_best_known: float = math.nan
    params: dict[str, Any] = field(default_factory=dict)
    message: str = ""
    cell_key: str = ""  # the hash of everything that determines the run (bench cells)
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_result(
        cls,
        r: Result,
        *,
        reference: float | None = None,
        reference_kind: str = "bound",
        best_known: float = math.nan,
        suite: str = "",
        file: str = "",
        **extra: Any,
    ) -> Row:
        """The row of ``r``; its gap is against ``reference`` (default: its own bound)."""
        ref = r.bound if reference is None else reference
        sense = Sense(r.sense)
        params = r.parameters
        return cls(
            instance=r.instance,
            family=r.family,
            method=r.method,
            status=r.status.value,
            objective=_num(r.objective),
            bound=_num(r.bound),
            reference=_num(ref),
            reference_kind=reference_kind,
            gap=_num(gap(r.objective, ref, sense)) if r.status.has_solution else math.nan,
            time=r.runtime,
            feasible=None if r.check is None else r.check.feasible,
            solver=r.solver,
            seed=int(params.get("seed", 0) or 0),
            time_limit=params.get("time_limit"),
            workers=int(params.get("workers", 1) or 1),
            suite=suite,
            file=file,
            best_known=_num(best_known),
            gap_to_best_known=_num(gap(r.objective, best_known, sense))
            if r.status.has_solution
            else math.nan,
            params=dict(params.get("params", {})),
            message=r.message,
            extra=dict(extra),
        )

    def to_dict(self) -> dict[str, Any]:
        """Flat and JSON-safe: ``extra`` columns sit beside the others."""
        flat = asdict(self)
        flat.update(flat.pop("extra"))
        out: dict[str, Any] = jsonable(flat)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Row:
        """A row from :meth:`to_dict` (or from a results file of an earlier version)."""
        names = {f.name for f in fields(cls)} - {"extra"}
        known = dict(data)
        if "reference" not in known and "best_bound" in known:  # results of version 0.1
            known["reference"] = known.pop("best_bound")
            known.setdefault("reference_kind", "best bound")
        missing = [
            n
            for n in ("instance", "family", "method", "status")
            if not isinstance(known.get(n), str)
        ]
        if missing:
            raise InputError(f"row has no {missing[0]!r}")
        kw = {k: v for k, v in known.items() if k in names}
        for k in NUMERIC:
            v = kw.get(k)
            kw[k] = (
                float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else math.nan
            )
        kw.setdefault("reference_kind", "")
        kw.setdefault("feasible", None)
        extra = {k: v for k, v in known.items() if k not in names}
        return cls(**kw, extra=extra)


def _num(x: float | None) -> float:
    return math.nan if x is None or not math.isfinite(x) else float(x)


def frame(rows: Iterable[Row]) -> pd.DataFrame:
    """Rows as one DataFrame (``extra`` columns flattened); non-finite numbers are ``nan``."""
    records = []
    for r in rows:
        d = asdict(r)
        d.update(d.pop("extra"))
        records.append(d)
    df = pd.DataFrame(records)
    for col in NUMERIC:
        if col in df.columns:
            df[col] = pd.to_numeric(df[col], errors="coerce")
    return df


def load_results(path: Path) -> list[Row]:
    """Every row of a JSON-lines results file; a line cut short by a kill is skipped."""
    if not path.exists():
        raise InputError(f"{path}: no such results file")
    from ..io import read_text

    rows = []
    for n, line in enumerate(read_text(path).splitlines(), 1):
        try:
            data = json.loads(line)
        except json.JSONDecodeError:
            continue
        if not isinstance(data, dict):
            raise InputError(f"{path}: line {n} is not a benchmark row")
        try:
            rows.append(Row.from_dict(data))
        except InputError as exc:
            raise InputError(f"{path}: line {n}: {exc}") from None
    if not rows:
        raise InputError(f"{path}: no benchmark rows")
    return latest(rows)


def latest(rows: Iterable[Row]) -> list[Row]:
    """The rows with each bench cell once: a cell run again (``--force``, or two runs
    on one file) keeps its last row, in that row's place; rows without a key stay."""
    rows = list(rows)
    last = {r.cell_key: i for i, r in enumerate(rows) if r.cell_key}
    return [r for i, r in enumerate(rows) if not r.cell_key or last[r.cell_key] == i]
