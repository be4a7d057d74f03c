"""Running an experiment: expand its grids, skip the cells the store holds, run the rest
on an executor, and store each row as it arrives.

Protocol: every solve cell is checked by the family's checker and its gap is
taken against the best proven bound known; every simulated timeline is
re-checked by the simulator's independent checker (a rejected one is a row of
status ``rejected``, never numbers). ``docs/dev/experiments.md`` has the file
format and the guarantees of the store.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import pandas as pd

from ..errors import InputError
from .cells import Resolver, Task, expand, grid_tasks, run_task, validate
from .executors import Executor, Job
from .spec import Experiment
from .store import LOST, Store, flat_row

#: Where ``optsched run`` keeps an experiment's results unless told otherwise.
RESULTS = Path("results")


def default_store(exp: Experiment) -> Path:
    return RESULTS / f"{exp.name}.sqlite"


@dataclass
class RunReport:
    cells: int
    done_before: int
    ran: int
    skipped_claimed: int
    failed: int


def run_experiment(
    exp: Experiment,
    store: Store,
    executor: Executor,
    *,
    force: bool = False,
    retry: Sequence[str] = (),
    progress: bool = True,
    longest_first: bool = False,
) -> RunReport:
    """Run every cell of ``exp`` that ``store`` lacks (every cell with ``force``, and
    those stored with a status in ``retry`` too) on ``executor``. A cell another live
    run has claimed is left to it."""
    from ..bench.run import Progress

    validate(exp)
    resolver = Resolver()
    tasks = expand(exp, resolver)
    done = set() if force else store.done((t.key for t in tasks), redo=retry)
    todo = [t for t in tasks if t.key not in done]
    if longest_first:  # long cells first shortens the tail of a parallel run
        todo.sort(key=lambda t: -(t.timeout or t.spec.get("time_limit") or 0.0))
    bar = Progress(len(tasks), len(tasks) - len(todo), enabled=progress)
    skipped = failed = ran = 0

    def jobs() -> Iterator[Job]:
        nonlocal skipped
        for t in todo:
            if not store.claim(t.key, force=force, redo=retry):
                skipped += 1
                continue
            yield Job(t, t.cpus, run_task, partial(_inputs, resolver, t))

    try:
        for task, result in executor.run(jobs()):
            if isinstance(result, BaseException):
                result = _lost(task, result)
            store.put(task.key, task.experiment, task.grid, task.kind, task.spec, result)
            ran += 1
            failed += result.get("status") in ("error", "timeout", "rejected", LOST)
            bar.step(task.label)
    finally:
        bar.close()
    return RunReport(len(tasks), len(tasks) - len(todo), ran, skipped, failed)


def _inputs(resolver: Resolver, task: Task) -> tuple[object, ...]:
    return (task, resolver.inputs(task))


def _lost(task: Task, exc: BaseException) -> dict[str, object]:
    from .cells import _failed, where_run

    row = _failed(task, LOST, str(exc))
    row["cell_key"] = task.key
    row.update(where_run())
    return row


def results(exp: Experiment, store: Store, grid: str | None = None) -> pd.DataFrame:
    """The experiment's current cells that the store holds, as one DataFrame (one row
    per cell: its spec beside its result; cells not run yet are absent)."""
    resolver = Resolver()
    grids = [exp.grid(grid)] if grid else list(exp.grids)
    records = []
    for g in grids:
        tasks = grid_tasks(exp, g, resolver)
        rows = store.rows(t.key for t in tasks)
        for t in tasks:
            if t.key not in rows:
                continue
            row = rows[t.key]
            if t.kind == "call":  # its rows, each with the cell's status beside its own
                cell = {k: v for k, v in row.items() if k not in ("rows", "status")}
                cell["cell_status"] = row.get("status")
                subs = row.get("rows", []) if row.get("status") == "ok" else [{}]
                for sub in subs:
                    records.append(flat_row(exp.name, g.name, t.kind, t.spec, {**cell, **sub}))
            else:
                records.append(flat_row(exp.name, g.name, t.kind, t.spec, row))
    df = pd.DataFrame(records)
    for col in ("objective", "bound", "reference", "gap", "time", "best_known"):
        if col in df.columns:
            df[col] = pd.to_numeric(df[col], errors="coerce")
    return df


def open_store(path: str | Path | None, exp: Experiment) -> Store:
    p = Path(path) if path else default_store(exp)
    if p.suffix not in (".sqlite", ".db"):
        raise InputError(f"--store {str(p)!r}: a result store is a .sqlite file")
    return Store(p)


def stored_rows(path: Path, store: str | Path | None = None) -> list[dict[str, object]]:
    """Rows of an experiment file's current cells (from its store, or ``store``), or of
    every cell a store file holds."""
    from .spec import read_experiment

    if path.suffix == ".toml":
        exp = read_experiment(path)
        with open_store(store, exp) as st:
            if not st.path.exists():
                raise InputError(f"{st.path}: no results yet (optsched run {path})")
            df = results(exp, st)
        return df.to_dict(orient="records")  # type: ignore[return-value]
    if not path.is_file():
        raise InputError(f"{path}: no such result store")
    with Store(path) as st:
        return st.all()
