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

import hashlib
import json
import math
import os
import sys
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from ..core import Status
from ..errors import InputError, sigterm_raises
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


def cell_key(cell: Cell, instance: Any, time_limit: float | None, workers: int, method: Any) -> str:
    """The hash of everything that determines a cell's result: the instance's content
    (its fingerprint), the method and, for a plug-in, its module's source, the seed,
    the time limit, the workers, and the versions of optsched and its solvers. A
    rerun skips a cell only when all of these are the same."""
    from .. import __version__
    from ..io import fingerprint

    what = {
        "suite": cell.suite,
        "file": cell.key[1],
        "instance": fingerprint(instance),
        "method": cell.method,
        "plugin": _source_hash(method.target) if method.origin != "built-in" else "",
        "seed": cell.seed,
        "time_limit": None if time_limit is None else float(time_limit),
        "workers": int(workers),
        "versions": [__version__, *_solver_versions()],
    }
    text = json.dumps(what, sort_keys=True, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def _source_hash(target: str) -> str:
    """The sha256 of a plug-in's module file (``module:function``) and of every module
    beside it that it imports, directly or through another: a change to a local
    helper recomputes the cells that use it."""
    import importlib.util

    module = target.partition(":")[0]
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.origin or not os.path.isfile(spec.origin):
        return "unknown"
    paths = _local_sources(Path(spec.origin))
    if len(paths) == 1:  # the module alone: the hash of its file
        return hashlib.sha256(paths[0].read_bytes()).hexdigest()
    digest = hashlib.sha256()
    for path in paths:
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def _local_sources(origin: Path) -> list[Path]:
    """``origin`` and the modules of its folder that it imports, transitively."""
    import ast

    folder, seen, todo = origin.parent, {origin}, [origin]
    while todo:
        try:
            tree = ast.parse(todo.pop().read_text())
        except (SyntaxError, UnicodeDecodeError):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names = [node.module]
            else:
                continue
            for name in names:
                path = folder / f"{name.partition('.')[0]}.py"
                if path.is_file() and path not in seen:
                    seen.add(path)
                    todo.append(path)
    return sorted(seen)


def _solver_versions() -> list[str]:
    from importlib.metadata import PackageNotFoundError, version

    out = []
    for dist in ("ortools", "pulp", "highspy", "pyscipopt"):
        with suppress(PackageNotFoundError):
            out.append(f"{dist} {version(dist)}")
    return out


def run_cell(cell: Cell, time_limit: float | None, workers: int, key: str = "") -> dict[str, Any]:
    """Solve one cell; its row as a dict (picklable for the process pool)."""
    global _BUSY
    _BUSY = True
    try:
        return _solve_cell(cell, time_limit, workers, key)
    finally:
        _BUSY = False


def _solve_cell(cell: Cell, time_limit: float | None, workers: int, key: str) -> dict[str, Any]:
    inst, ref = load(cell.path)
    bound, best = (ref.bound, ref.objective) if ref else (math.nan, math.nan)
    row = solve_row(
        inst,
        bound,
        best,
        cell.method,
        time_limit,
        workers,
        cell.seed,
        suite=cell.suite,
        file=cell.key[1],
    )
    row["cell_key"] = key
    return row


def solve_row(
    inst: Any,
    ref_bound: float,
    ref_best: float,
    method: str,
    time_limit: float | None,
    workers: int,
    seed: int,
    *,
    options: dict[str, Any] | None = None,
    params: dict[str, Any] | None = None,
    suite: str = "",
    file: str = "",
) -> dict[str, Any]:
    """One checked solve as a row (a dict), its gap against the best proven bound known:
    the run's own or ``ref_bound`` (a suite's reference; ``nan`` for none), and its gap
    to ``ref_best``, the best known objective. A method that fails to load is a row
    with status ``error``, not an exception."""
    try:
        r = solve(
            inst,
            method,
            time_limit=time_limit,
            workers=workers,
            seed=seed,
            params=params or None,
            **(options or {}),
        )
    except InputError as exc:  # e.g. a plug-in that fails to load: still a row of the table
        r = Result(
            inst.family,
            inst.name,
            method,
            inst.sense,
            Status.ERROR,
            inst.sense.worst,
            inst.sense.no_bound,
            0.0,
            parameters={"time_limit": time_limit, "workers": workers, "seed": seed},
            message=str(exc),
        )
    best_bound = inst.sense.tightest((r.bound, ref_bound))
    row = Row.from_result(
        r,
        reference=best_bound,
        reference_kind="best bound",
        best_known=ref_best,
        suite=suite,
        file=file,
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


def _done(out: Path) -> set[str]:
    """The keys of the cells ``out`` holds (rows of earlier versions have none)."""
    from ..io import read_text

    keys = set()
    if out.exists():
        for n, line in enumerate(read_text(out).splitlines(), 1):
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line cut short by a kill
            if not isinstance(row, dict) or not all(
                k in row for k in ("suite", "file", "method", "seed")
            ):
                raise InputError(f"{out}: line {n} is not a benchmark row")
            if isinstance(row.get("cell_key"), str) and row["cell_key"]:
                keys.add(row["cell_key"])
    return keys


@contextmanager
def _locked(out: Path) -> Iterator[None]:
    """Hold the results file for one run: a second run on the same file (which would
    duplicate cells) is refused while this one writes."""
    import fcntl

    from ..io import shown, why_not

    if out.is_dir():
        raise InputError(f"{shown(out)}: cannot write results (a directory)")
    if out.exists() and not out.is_file():
        raise InputError(f"{shown(out)}: cannot write results (not a regular file)")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        fh = open(out, "a")  # noqa: SIM115 (held for the whole run)
    except OSError as exc:
        raise InputError(f"{shown(out)}: cannot write results ({why_not(exc)})") from None
    with fh:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            why = "in use by another bench run (one run per file)"
            raise InputError(f"{shown(out)}: {why}") from None
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


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
    force: bool = False,
    random_seeds: int | None = None,
) -> pd.DataFrame:
    """Run every missing cell (every cell with ``force``), append its row to ``out``;
    the rows of these cells. A cell is missing unless ``out`` has a row with its key
    (:func:`cell_key`): another time limit, seed, workers count, instance content,
    plug-in source or version is another cell. ``random_seeds``: randomised methods
    run seeds ``0 .. random_seeds - 1`` instead of ``seeds`` (one sample of them says
    little)."""
    seeds = list(seeds)
    from ..registry import get
    from ..registry import methods as registered

    cells = []
    used: set[str] = set()
    for name in suites:
        folder = find_suite(name)
        check_references(folder)  # a tampered reference stops the run before it starts
        for f in suite_files(folder):
            inst = read_instance(f)
            known = {m.name for m in registered(inst.family)}
            for m in methods:
                if m not in known and ":" not in m:
                    continue  # not a method of this family (e.g. task_parallel on spase)
                method = get(inst.family, m)
                used.add(m)
                mine = range(random_seeds) if random_seeds and method.randomised else seeds
                for s in mine:
                    cell = Cell(folder.name, str(f), m, s)
                    cells.append((cell, cell_key(cell, inst, time_limit, workers, method)))
    unused = [m for m in methods if m not in used]
    if unused:
        raise InputError(f"bench: method {unused[0]!r} exists for none of the suites' families")
    with _locked(out):
        _repair(out)
        done = set() if force else _done(out)
        todo = [(c, k) for c, k in cells if k not in done]
        bar = Progress(len(cells), len(cells) - len(todo), enabled=progress)
        if parallel <= 1:
            for cell, key in todo:
                _append(out, run_cell(cell, time_limit, workers, key))
                bar.step(cell)
        else:
            _run_pool(todo, out, time_limit, workers, parallel, bar)
        bar.close()
    keys = {k for _, k in cells}
    return frame(r for r in load_results(out) if r.cell_key in keys)


def _run_pool(
    todo: list[tuple[Cell, str]],
    out: Path,
    time_limit: float | None,
    workers: int,
    parallel: int,
    bar: Progress,
) -> None:
    """The cells on ``parallel`` processes, at most ``parallel`` in flight; an interrupt
    (Ctrl-C, SIGTERM) ends the workers and whatever they started before it returns."""
    pool = ProcessPoolExecutor(max_workers=parallel, initializer=_worker_start)
    pending: dict[Future[dict[str, Any]], Cell] = {}
    queue = list(todo)
    with sigterm_raises():
        try:
            while queue or pending:
                while queue and len(pending) < parallel:
                    cell, key = queue.pop(0)
                    pending[pool.submit(run_cell, cell, time_limit, workers, key)] = cell
                finished, _ = wait(pending, return_when=FIRST_COMPLETED)
                for fut in finished:
                    cell = pending.pop(fut)
                    _append(out, fut.result())
                    bar.step(cell)
        except BaseException:
            _end_pool(pool)
            raise
    pool.shutdown(wait=True)


def _end_pool(pool: ProcessPoolExecutor) -> None:
    """Stop a pool's workers now: SIGTERM, which each worker turns into an exception
    (:func:`_worker_start`) so that it ends the solver processes it started; SIGKILL
    for one that does not stop. Their cells are lost; the rows written stay."""
    import signal

    procs = list(getattr(pool, "_processes", {}).values())
    for proc in procs:
        with suppress(ProcessLookupError):
            os.kill(proc.pid, signal.SIGTERM)
    pool.shutdown(wait=False, cancel_futures=True)
    for proc in procs:
        proc.join(timeout=10)
        if proc.is_alive():
            with suppress(ProcessLookupError):
                os.kill(proc.pid, signal.SIGKILL)
            proc.join(timeout=5)


_BUSY = False  # in a pool worker: whether a cell is running


def _worker_start() -> None:
    """In each pool worker: SIGTERM ends a running cell by an exception (not at once),
    so that the solver's own cleanup runs, and an idle worker at once; Ctrl-C is the
    parent's to handle."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _worker_terminated)


def _worker_terminated(signum: int, frame: Any) -> None:
    from ..errors import Terminated

    if _BUSY:
        raise Terminated
    os._exit(143)


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

    def step(self, cell: Cell | str) -> None:
        """One more done: a bench cell, or an experiment cell's label."""
        self.done += 1
        self._draw(cell if isinstance(cell, str) else f"{cell.key[1]} {cell.method}")

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
