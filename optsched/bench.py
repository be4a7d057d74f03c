"""Benchmark runs over suites: one row per (instance, method, seed), resumable.

A suite is a folder of instance files with a ``reference.json`` of best known
objectives and proven bounds (backed by solution files in ``solutions/``)
and a README stating the source and the command that regenerates it.

Protocol: every cell is solved with the given time limit, workers and seed;
its solution is re-checked by the family's checker; its gap is
:func:`optsched.result.gap` of the checked objective against the best proven
bound known (the suite's stored bound or the run's own, whichever is
tighter). Rows are appended to a JSON-lines file as cells finish (flushed
and synced), so a killed run loses at most the cells in flight and a re-run
skips every finished cell.
"""

from __future__ import annotations

import json
import math
import os
import sys
from collections.abc import Iterable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import pandas as pd

from . import references
from .core import Sense, Status
from .errors import InputError
from .io import read_instance
from .result import Result, gap
from .solve import solve

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SUITES = ("hopper-small", "spase-small", "placement-small", "timeslot-small")
DEFAULT_METHODS = ("cpsat", "milp", "greedy")


@dataclass(frozen=True)
class Cell:
    suite: str
    path: str
    method: str
    seed: int

    @property
    def key(self) -> tuple[str, str, str, int]:
        return (self.suite, Path(self.path).stem, self.method, self.seed)


def find_suite(name: str) -> Path:
    """A suite folder: a path, or a name under the repository's ``instances/``."""
    p = Path(name)
    for cand in (p, Path.cwd() / "instances" / name, ROOT / "instances" / name):
        if cand.is_dir():
            return cand
    raise InputError(f"suite {name!r} not found (a folder, or a name under instances/)")


def suite_files(folder: Path) -> list[Path]:
    files = sorted(f for f in folder.glob("*.json") if f.name != references.REFERENCE_FILE)
    if not files:
        raise InputError(f"suite {str(folder)!r} has no instance files")
    return files


def check_references(folder: Path) -> int:
    """Re-check every stored reference solution of a suite; returns how many."""
    return sum(_load(str(f))[1] is not None for f in suite_files(folder))


@lru_cache(maxsize=64)
def _load(path: str) -> tuple[Any, references.Reference | None]:
    """An instance and its checked reference, read and re-checked once per process."""
    inst = read_instance(path)
    return inst, references.load(inst, Path(path).parent)


def _run_cell(cell: Cell, time_limit: float | None, workers: int) -> dict[str, Any]:
    inst, ref = _load(cell.path)
    try:
        r = solve(inst, cell.method, time_limit=time_limit, workers=workers, seed=cell.seed)
    except InputError as exc:  # e.g. a model too large to build: still a row of the table
        r = Result(
            inst.family,
            inst.name,
            cell.method,
            inst.sense,
            Status.ERROR,
            inst.sense.worst,
            inst.sense.no_bound,
            0.0,
            message=str(exc),
        )
    bounds = [b for b in (r.bound, ref.bound if ref else math.nan) if math.isfinite(b)]
    best_bound = (max(bounds) if inst.sense is Sense.MIN else min(bounds)) if bounds else math.nan
    best_known = ref.objective if ref else math.nan

    def num(x: float) -> float | None:
        return x if math.isfinite(x) else None

    return {
        "suite": cell.suite,
        "instance": inst.name,
        "family": inst.family,
        "method": cell.method,
        "seed": cell.seed,
        "status": r.status.value,
        "objective": num(r.objective),
        "bound": num(r.bound),
        "best_bound": num(best_bound),
        "best_known": num(best_known),
        "gap": num(gap(r.objective, best_bound, inst.sense)),
        "gap_to_best_known": num(gap(r.objective, best_known, inst.sense)),
        "time": r.runtime,
        "feasible": None if r.check is None else r.check.feasible,
        "solver": r.solver,
        "time_limit": time_limit,
        "workers": workers,
        "message": r.message,
    }


def _repair(out: Path) -> None:
    """Drop a last line cut short by a kill, so appending starts on a fresh line."""
    if not out.exists():
        return
    text = out.read_text()
    if text and not text.endswith("\n"):
        keep = text[: text.rfind("\n") + 1]
        with open(out, "w") as fh:
            fh.write(keep)
            fh.flush()
            os.fsync(fh.fileno())


def _done(out: Path) -> set[tuple[str, str, str, int]]:
    keys = set()
    if out.exists():
        for line in out.read_text().splitlines():
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line cut short by a kill
            keys.add((row["suite"], row["file"], row["method"], row["seed"]))
    return keys


def _append(out: Path, row: dict[str, Any]) -> None:
    with open(out, "a") as fh:
        fh.write(json.dumps(row, allow_nan=False) + "\n")
        fh.flush()
        os.fsync(fh.fileno())


def run(
    suites: Sequence[str],
    methods: Sequence[str],
    out: Path,
    time_limit: float | None = 10.0,
    workers: int = 1,
    parallel: int = 1,
    seeds: Iterable[int] = (0,),
    progress: bool = True,
) -> pd.DataFrame:
    """Run every missing cell, append its row to ``out``, return all rows of ``out``."""
    from .registry import get
    from .registry import methods as registered

    cells = []
    used: set[str] = set()
    for name in suites:
        folder = find_suite(name)
        check_references(folder)  # a tampered reference stops the run before it starts
        for f in suite_files(folder):
            family = read_instance(f).family
            known = {m.name for m in registered(family)}
            for m in methods:
                if m not in known and ":" not in m:
                    continue  # not a method of this family (e.g. task_parallel on spase)
                get(family, m)
                used.add(m)
                for s in seeds:
                    cells.append(Cell(folder.name, str(f), m, s))
    unused = [m for m in methods if m not in used]
    if unused:
        raise InputError(f"bench: method {unused[0]!r} exists for none of the suites' families")
    out.parent.mkdir(parents=True, exist_ok=True)
    _repair(out)
    done = _done(out)
    todo = [c for c in cells if c.key not in done]
    bar = _Progress(len(cells), len(cells) - len(todo), enabled=progress)
    if parallel <= 1:
        for cell in todo:
            row = _run_cell(cell, time_limit, workers)
            _append(out, {"file": cell.key[1], **row})
            bar.step(cell)
    else:
        with ProcessPoolExecutor(max_workers=parallel) as pool:
            pending: dict[Future[dict[str, Any]], Cell] = {}
            queue = list(todo)
            while queue or pending:
                while queue and len(pending) < parallel:
                    cell = queue.pop(0)
                    pending[pool.submit(_run_cell, cell, time_limit, workers)] = cell
                finished, _ = wait(pending, return_when=FIRST_COMPLETED)
                for fut in finished:
                    cell = pending.pop(fut)
                    _append(out, {"file": cell.key[1], **fut.result()})
                    bar.step(cell)
    bar.close()
    return load_results(out, keys={c.key for c in cells})


def load_results(path: Path, keys: set[tuple[str, str, str, int]] | None = None) -> pd.DataFrame:
    """Rows of a results file (optionally only the given cells), in file order."""
    if not path.exists():
        raise InputError(f"{path}: no such results file")
    rows = []
    for n, line in enumerate(path.read_text().splitlines(), 1):
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            continue
        if not isinstance(row, dict) or "method" not in row:
            raise InputError(f"{path}: line {n} is not a benchmark row")
        if keys is None or (row["suite"], row["file"], row["method"], row["seed"]) in keys:
            rows.append(row)
    if not rows:
        raise InputError(f"{path}: no benchmark rows")
    df = pd.DataFrame(rows)
    for col in ("objective", "bound", "best_bound", "gap", "gap_to_best_known", "time"):
        df[col] = pd.to_numeric(df[col], errors="coerce")
    return df


def summary_table(df: pd.DataFrame, by: Sequence[str] = ("family", "method")) -> pd.DataFrame:
    """Mean and max gap (%), number optimal, number checked feasible, mean time."""
    missing = [c for c in by if c not in df.columns]
    if missing:
        raise InputError(
            f"table: unknown column {missing[0]!r} in --by (known: {', '.join(df.columns)})"
        )
    g = df.groupby(list(by), sort=True)
    out = g.agg(
        runs=("method", "size"),
        optimal=("status", lambda s: int((s == "optimal").sum())),
        feasible=("feasible", lambda s: int((s == True).sum())),  # noqa: E712
        mean_gap_pct=("gap", lambda s: 100 * s.mean()),
        max_gap_pct=("gap", lambda s: 100 * s.max()),
        mean_time_s=("time", "mean"),
    ).reset_index()
    return out


class _Progress:
    """A one-line progress bar on stderr (no extra dependency)."""

    def __init__(self, total: int, done: int, enabled: bool) -> None:
        self.total, self.done = total, done
        self.enabled = enabled and total > 0
        self._draw("")

    def _draw(self, what: str) -> None:
        if not self.enabled:
            return
        width = 30
        filled = int(width * self.done / self.total)
        sys.stderr.write(
            f"\r[{'#' * filled}{'.' * (width - filled)}] {self.done}/{self.total} {what[:50]:<50}"
        )
        sys.stderr.flush()

    def step(self, cell: Cell) -> None:
        self.done += 1
        self._draw(f"{cell.key[1]} {cell.method}")

    def close(self) -> None:
        if self.enabled:
            sys.stderr.write("\n")
            sys.stderr.flush()
