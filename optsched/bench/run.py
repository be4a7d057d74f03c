"""Benchmark runs over suites: one row per (instance, method, seed), resumable.

Protocol: every cell is solved with the given time limit, workers and seed;
its solution is re-checked by the family's checker; its gap is
:func:`optsched.result.gap` of the checked objective against the best proven
bound known (the suite's stored bound or the run's own, whichever is
tighter). Rows (:class:`~optsched.bench.rows.Row`) are appended to a
JSON-lines file as cells finish (flushed and synced), so a killed run loses at
most the cells in flight and a re-run skips every finished cell.
``docs/dev/benchmark-protocol.md`` states the whole protocol.
"""

from __future__ import annotations

import json
import math
import os
import sys
from collections.abc import Iterable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from ..core import Status
from ..errors import InputError
from ..io import read_instance
from ..result import Result
from ..solve import solve
from .rows import Row, dumps, frame, load_results
from .suites import check_references, find_suite, load, suite_files

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


def run_cell(cell: Cell, time_limit: float | None, workers: int) -> dict[str, Any]:
    """Solve one cell; its row as a dict (picklable for the process pool)."""
    inst, ref = load(cell.path)
    try:
        r = solve(inst, cell.method, time_limit=time_limit, workers=workers, seed=cell.seed)
    except InputError as exc:  # e.g. a plug-in that fails to load: still a row of the table
        r = Result(
            inst.family,
            inst.name,
            cell.method,
            inst.sense,
            Status.ERROR,
            inst.sense.worst,
            inst.sense.no_bound,
            0.0,
            parameters={"time_limit": time_limit, "workers": workers, "seed": cell.seed},
            message=str(exc),
        )
    best_bound = inst.sense.tightest((r.bound, ref.bound if ref else math.nan))
    row = Row.from_result(
        r,
        reference=best_bound,
        reference_kind="best bound",
        best_known=ref.objective if ref else math.nan,
        suite=cell.suite,
        file=cell.key[1],
    )
    return row.to_dict()


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
        for n, line in enumerate(out.read_text(errors="replace").splitlines(), 1):
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line cut short by a kill
            try:
                keys.add((row["suite"], row["file"], row["method"], row["seed"]))
            except (TypeError, KeyError):
                raise InputError(f"{out}: line {n} is not a benchmark row") from None
    return keys


def _append(out: Path, row: dict[str, Any]) -> None:
    with open(out, "a") as fh:
        fh.write(dumps(row) + "\n")
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
    """Run every missing cell, append its row to ``out``; the rows of these cells."""
    from ..registry import get
    from ..registry import methods as registered

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
    bar = Progress(len(cells), len(cells) - len(todo), enabled=progress)
    if parallel <= 1:
        for cell in todo:
            _append(out, run_cell(cell, time_limit, workers))
            bar.step(cell)
    else:
        with ProcessPoolExecutor(max_workers=parallel) as pool:
            pending: dict[Future[dict[str, Any]], Cell] = {}
            queue = list(todo)
            while queue or pending:
                while queue and len(pending) < parallel:
                    cell = queue.pop(0)
                    pending[pool.submit(run_cell, cell, time_limit, workers)] = cell
                finished, _ = wait(pending, return_when=FIRST_COMPLETED)
                for fut in finished:
                    cell = pending.pop(fut)
                    _append(out, fut.result())
                    bar.step(cell)
    bar.close()
    keys = {c.key for c in cells}
    return frame(r for r in load_results(out) if (r.suite, r.file, r.method, r.seed) in keys)


class Progress:
    """Progress on stderr (no extra dependency): a one-line bar redrawn in place on a
    terminal; plain lines otherwise (a log file, CI), one per cell, or one per tenth
    of the way for :meth:`update`."""

    def __init__(self, total: int, done: int, enabled: bool) -> None:
        self.total, self.done = total, done
        self.enabled = enabled and total > 0
        self.tty = sys.stderr.isatty()
        if self.tty:
            self._draw("")

    def _draw(self, what: str) -> None:
        if not self.enabled:
            return
        if not self.tty:
            sys.stderr.write(f"[{self.done}/{self.total}] {what}".rstrip() + "\n")
            sys.stderr.flush()
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

    def update(self, done: int, what: str = "") -> None:
        """Redraw at ``done``: at most once per percent on a terminal, per tenth else."""
        step = 100 if self.tty else 10
        if self.enabled and (done * step) // self.total != (self.done * step) // self.total:
            self.done = done
            self._draw(what)

    def close(self) -> None:
        if self.enabled and self.tty:
            sys.stderr.write("\n")
            sys.stderr.flush()
