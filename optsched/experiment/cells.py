"""Cells: an experiment's grids expanded to units of work, their keys, and how one runs.

A :class:`Task` is one cell: a solve (instance, method, options, seed, time
limit, workers) or a simulation (workload, cluster, policy, seed, semantics).
Its key (:func:`task_key`) is the sha256 of everything that determines its
result: the instance's or workload's content, the cluster, the method or
policy and, for a plug-in, its module's source, the options, seed, time
limit, workers and timeout, and the versions of optsched and its solvers. Two
cells with one key are one cell; a change to any of these is another cell.

:func:`run_task` runs one cell on the inputs the driver resolved for it and
returns its row: never raises for a failed cell (an exception, a rejected
timeline or a timeout is a row with that status and message), and records
where it ran (host, CPU model, versions, Ray node).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import os
import platform
import signal
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from ..errors import InputError
from .spec import Experiment, Grid, resolve_path, sweep


@dataclass(frozen=True)
class Task:
    """One cell of a grid. ``spec`` says what it is (JSON-able, shown as columns of its
    row); ``cpus`` is what it occupies while it runs (its solver's workers)."""

    experiment: str
    grid: str
    kind: str
    spec: dict[str, Any]
    cpus: int = 1
    timeout: float | None = None
    key: str = field(default="", compare=False)

    @property
    def label(self) -> str:
        s = self.spec
        if self.kind == "solve":
            return f"{s['file']} {s['method']} s{s['seed']}"
        if self.kind == "call":
            args = " ".join(f"{k}={v}" for k, v in sorted(s["params"].items()))
            return f"{s['function'].partition(':')[2]} {args}".strip()
        return f"{s['workload']} {s['policy']} s{s['seed']}"


class CellTimeout(BaseException):
    """A cell ran past its grid's ``timeout`` (a BaseException, so that a method's own
    ``except Exception`` cannot swallow it)."""


# --- expansion -----------------------------------------------------------------------


def _cells(exp: Experiment, grid: Grid) -> Iterator[Task]:
    if grid.skipped:
        return iter(())
    if grid.kind == "solve":
        return _solve_cells(exp, grid)
    if grid.kind == "call":
        return _call_cells(exp, grid)
    return _simulate_cells(exp, grid)


def expand(exp: Experiment, resolver: Resolver) -> list[Task]:
    """Every cell of every grid, keyed, in grid order; a cell that two grids share
    appears once."""
    tasks: list[Task] = []
    seen: set[str] = set()
    for grid in exp.grids:
        for t in _cells(exp, grid):
            t = _keyed(t, resolver)
            if t.key not in seen:
                seen.add(t.key)
                tasks.append(t)
    return tasks


def validate(exp: Experiment) -> None:
    """Raise the one-line error a run of ``exp`` would stop on (an unknown suite,
    method, policy or function), without building any cell's inputs."""
    from ..problems.record import load_plugin

    for grid in exp.grids:
        if grid.skipped:
            continue
        if grid.kind == "call":
            _importable(exp.folder)
            try:
                load_plugin("function", grid["function"], grid["function"])
            except InputError as exc:
                raise InputError(f"{exp.path}: grid {grid.name}: {exc}") from None
        else:
            for _ in _cells(exp, grid):
                pass


def grid_tasks(exp: Experiment, grid: Grid, resolver: Resolver) -> list[Task]:
    """The keyed cells of one grid."""
    return [_keyed(t, resolver) for t in _cells(exp, grid)]


def _call_cells(exp: Experiment, grid: Grid) -> Iterator[Task]:
    for params in sweep(grid["params"]):
        for seed in grid["seeds"]:
            spec = {
                "function": grid["function"],
                "folder": exp.folder,
                "params": params,
                "seed": seed,
            }
            yield Task(exp.name, grid.name, "call", spec, grid["workers"], grid.timeout)


def _solve_cells(exp: Experiment, grid: Grid) -> Iterator[Task]:
    from ..bench.suites import find_suite, suite_files
    from ..registry import get
    from ..registry import methods as registered

    sources: list[dict[str, Any]] = []
    for name in grid.get("suites", []):
        folder = find_suite(name)
        for f in suite_files(folder):
            sources.append({"suite": folder.name, "path": str(f), "file": f.stem})
    for text in grid.get("instances", []):
        for f in resolve_path(text):
            sources.append({"suite": "", "path": str(f), "file": f.stem})
    for gen in grid.get("generate", []):
        for combo in sweep({k: v for k, v in gen.items() if k not in ("family", "source")}):
            seed = int(combo.pop("seed", 0))
            label = "-".join(
                [gen["source"], *(f"{k}{_short(v)}" for k, v in sorted(combo.items())), f"s{seed}"]
            )
            sources.append(
                {
                    "suite": f"generated-{gen['family']}",
                    "generate": {
                        "family": gen["family"],
                        "source": gen["source"],
                        "seed": seed,
                        "options": combo,
                    },
                    "file": label,
                }
            )
    used: set[str] = set()
    for src in sources:
        fam = _family_of(src)
        known = {m.name for m in registered(fam)}
        for m in grid["methods"]:
            if m not in known and ":" not in m:
                continue  # not a method of this family
            used.add(m)
            method = get(fam, m)
            if grid.get("random_seeds") and method.randomised:
                seeds: list[int] = list(range(grid["random_seeds"]))
            else:
                seeds = grid["seeds"]
            budgets = sweep({"time_limit": grid["time_limit"], "workers": grid["workers"]})
            for options, params, budget, seed in itertools.product(
                list(sweep(grid["options"].get(m, {}))),
                list(sweep(grid["params"].get(m, {}))),
                list(budgets),
                seeds,
            ):
                spec = {
                    **src,
                    "family": fam,
                    "method": m,
                    "options": options,
                    "params": params,
                    "seed": seed,
                    **budget,
                }
                cpus = int(budget["workers"])
                yield Task(exp.name, grid.name, "solve", spec, cpus, grid.timeout)
    unused = [m for m in grid["methods"] if m not in used]
    if unused:
        raise InputError(
            f"{exp.path}: grid {grid.name}: method {unused[0]!r} exists for none of its instances"
        )


def _short(value: Any) -> str:
    """A generator option as a file label shows it: ``v100:4,k80:4`` for a table."""
    if isinstance(value, dict):
        return ",".join(f"{k}:{v}" for k, v in value.items())
    return str(value)


def instance_size(inst: Any) -> int:
    """An instance's size, as runtime plots put it on their x axis: units (configs x
    partitions) for hopper, tasks for spase, jobs for placement, job-slots for
    timeslot."""
    fam = inst.family
    if fam == "hopper":
        return len(inst.configs) * len(inst.workers)
    if fam == "spase":
        return len(inst.tasks)
    if fam == "timeslot":
        return len(inst.jobs) * inst.num_slots
    return len(getattr(inst, "jobs", ()))


def _family_of(src: dict[str, Any]) -> str:
    if "generate" in src:
        return str(src["generate"]["family"])
    return str(_read(src["path"]).family)


@lru_cache(maxsize=256)
def _read(path: str) -> Any:
    from ..io import read_instance

    return read_instance(path)


def _simulate_cells(exp: Experiment, grid: Grid) -> Iterator[Task]:
    base = {
        "workload": grid["workload"],
        "cluster": grid.get("cluster", "gavel:36:36:36"),
        "semantics": grid.get("semantics", "default"),
        "rule": grid.get("rule", "consolidated"),
        "measure": grid.get("measure"),
        "round_seconds": grid.get("round_seconds", 360.0),
        "bound": grid.get("bound", False),
        "round_time_limit": grid.get("round_time_limit"),
    }
    if grid["workload"] == "gavel-generated":
        base["jobs"] = grid["jobs"]
        base["rate"] = grid["rate"]
    for combo in sweep(base):
        for policy in grid["policies"]:
            _check_policy(exp, grid, policy, combo["semantics"])
            for seed in grid["seeds"]:
                spec = {**combo, "policy": policy, "seed": seed}
                yield Task(exp.name, grid.name, "simulate", spec, grid["workers"], grid.timeout)


def _check_policy(exp: Experiment, grid: Grid, policy: str, semantics: str) -> None:
    """A policy the grid's semantics does not run is a bad experiment, not a failed cell."""
    from ..simulate.gavel import GAVEL_POLICIES
    from ..simulate.policies import get_policy

    where = f"{exp.path}: grid {grid.name}: policies"
    if semantics == "gavel":
        if policy not in GAVEL_POLICIES:
            raise InputError(
                f"{where}: semantics gavel runs {', '.join(GAVEL_POLICIES)}, got {policy!r}"
            )
    elif semantics != "default":
        raise InputError(f"{where}: semantics must be default or gavel, got {semantics!r}")
    else:
        try:
            get_policy(policy)
        except InputError as exc:
            raise InputError(f"{where}: {exc}") from None


# --- inputs and keys -----------------------------------------------------------------


class Resolver:
    """The driver's inputs of cells: instances with their checked references, and
    workloads with their clusters, each built once and fingerprinted once."""

    def __init__(self) -> None:
        self._instances: dict[str, tuple[Any, Any, str]] = {}
        self._sims: dict[str, tuple[Any, Any, str]] = {}

    def instance(self, spec: dict[str, Any]) -> tuple[Any, Any, str]:
        """(instance, reference or None, fingerprint)."""
        from ..io import fingerprint

        tag = json.dumps(spec.get("generate") or spec["path"], sort_keys=True)
        if tag not in self._instances:
            if "generate" in spec:
                from ..problems import family

                g = spec["generate"]
                inst = family(g["family"]).generate(g["source"], g["seed"], **g["options"])
                ref = None
            else:
                from ..bench.suites import load

                inst, ref = load(spec["path"])
            self._instances[tag] = (inst, ref, fingerprint(inst))
        return self._instances[tag]

    def simulation(self, spec: dict[str, Any]) -> tuple[Any, Any, str]:
        """(workload, cluster, fingerprint of both)."""
        keys = ("workload", "cluster", "measure", "jobs", "rate")
        what: dict[str, Any] = {k: spec[k] for k in keys if k in spec}
        what["seed"] = spec["seed"]
        tag = json.dumps(what, sort_keys=True)
        if tag not in self._sims:
            workload, cluster = build_workload(spec)
            digest = hashlib.sha256()
            digest.update(json.dumps(cluster.to_dict(), sort_keys=True).encode())
            for j in workload.jobs:
                digest.update(
                    repr((j.id, j.job_type, j.num_gpus, j.work, j.arrival, j.weight)).encode()
                )
                digest.update(repr(tuple(j.gpu_types)).encode())
            digest.update(repr(workload.measure).encode())
            self._sims[tag] = (workload, cluster, "sha256:" + digest.hexdigest())
        return self._sims[tag]

    def inputs(self, task: Task) -> tuple[Any, ...]:
        """What :func:`run_task` needs beside the task (shipped to the worker)."""
        if task.kind == "call":
            return ()
        if task.kind == "solve":
            # the instance travels as its JSON (frozen mappings do not pickle), with
            # the reference's numbers; the worker rebuilds it once per process
            inst, ref, content = self.instance(task.spec)
            bound, best = (ref.bound, ref.objective) if ref is not None else (math.nan, math.nan)
            return (content, inst.to_dict(), bound, best)
        workload, cluster, _ = self.simulation(task.spec)
        return (workload, cluster)


def build_workload(spec: dict[str, Any]) -> tuple[Any, Any]:
    """A simulate cell's workload and cluster, as ``optsched simulate`` builds them."""
    from ..cli.simulating import parse_cluster
    from ..simulate.sources import TRACES, gavel_generated, trace_workload
    from ..simulate.workload import detect_format, parse_measure, read_gavel_trace

    cluster = parse_cluster(spec["cluster"])
    name, seed = spec["workload"], spec["seed"]
    if name == "gavel-generated":
        workload = gavel_generated(3600.0 / float(spec["rate"]), int(spec["jobs"]), seed=seed)
    elif name in TRACES:
        workload = trace_workload(name, cluster, seed=seed)
    elif name.startswith("alibaba:"):
        workload = trace_workload("alibaba", cluster, seed=seed, variant=name.partition(":")[2])
    else:
        files = resolve_path(name)
        if detect_format(files[0]) == "csv":
            raise InputError(f"workload {name!r}: CSV workloads run with optsched simulate only")
        workload = read_gavel_trace(files[0])
    if spec.get("measure"):
        k, end = parse_measure(spec["measure"])
        workload = workload.with_measure(k, end)
    return workload, cluster


def _keyed(task: Task, resolver: Resolver) -> Task:
    from dataclasses import replace

    if task.kind == "solve":  # shown beside the row; not part of the key
        task.spec["size"] = instance_size(resolver.instance(task.spec)[0])
    return replace(task, key=task_key(task, resolver))


def task_key(task: Task, resolver: Resolver) -> str:
    """The sha256 of everything that determines the cell's result (see the module)."""
    s = task.spec
    what: dict[str, Any] = {"kind": task.kind, "timeout": task.timeout, "cpus": task.cpus}
    if task.kind == "solve":
        from ..bench.run import _source_hash
        from ..registry import get

        _, ref, content = resolver.instance(s)
        # the gaps of the row are taken against the suite's reference: a better one
        # (build_suites) is another cell
        what["reference"] = None if ref is None else [repr(ref.bound), repr(ref.objective)]
        method = get(s["family"], s["method"])
        what |= {
            "instance": content,
            "method": s["method"],
            "plugin": _source_hash(method.target) if method.origin != "built-in" else "",
            **{k: s[k] for k in ("options", "params", "seed", "time_limit", "workers")},
        }
    elif task.kind == "call":
        from ..bench.run import _source_hash

        _importable(s["folder"])
        what |= {
            "function": s["function"],
            "source": _source_hash(s["function"]),
            "params": s["params"],
            "seed": s["seed"],
        }
    else:
        _, _, content = resolver.simulation(s)
        policy = s["policy"]
        plugin = ""
        if ":" in policy:
            from ..bench.run import _source_hash

            plugin = _source_hash(policy)
        what |= {
            "workload": content,
            "policy": policy,
            "plugin": plugin,
            **{
                k: s[k]
                for k in (
                    "semantics",
                    "rule",
                    "round_seconds",
                    "bound",
                    "round_time_limit",
                    "seed",
                )
            },
        }
    what["versions"] = versions()
    text = json.dumps(what, sort_keys=True, separators=(",", ":"), default=str)
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


@lru_cache(maxsize=1)
def versions() -> tuple[str, ...]:
    from .. import __version__
    from ..bench.run import _solver_versions

    return (f"optsched {__version__}", *_solver_versions())


# --- running one cell ----------------------------------------------------------------


def run_task(task: Task, inputs: tuple[Any, ...]) -> dict[str, Any]:
    """Run one cell; its row (never raises for a failed cell)."""
    start = time.perf_counter()
    try:
        with _deadline(task.timeout):
            run: Any = {"solve": _solve, "simulate": _simulate, "call": _call}[task.kind]
            row = run(task, *inputs)
    except CellTimeout:
        row = _failed(task, "timeout", f"stopped after the grid's timeout of {task.timeout:g} s")
    except InputError as exc:
        row = _failed(task, "error", str(exc))
    except Exception as exc:  # a bug in a method or policy is a row of the table
        row = _failed(task, "error", f"{type(exc).__name__}: {exc}")
    row["cell_s"] = time.perf_counter() - start
    row["cell_key"] = task.key
    row.update(where_run())
    try:  # a row the store cannot hold is the cell's failure, not the run's
        from ..core import jsonable

        json.dumps(jsonable(row), allow_nan=False, default=str)
    except (TypeError, ValueError) as exc:
        row = {**_failed(task, "error", f"its row is not JSON ({exc})"), "cell_key": task.key}
    return row


@lru_cache(maxsize=64)
def _warm(family: str, method: str) -> None:
    """Import the method's modules and its solver before its clock starts: a fresh
    worker process (a pool's, Ray's) would otherwise spend the first cell's time limit
    on imports (seen: 15 s of a 5 s limit on a loaded machine)."""
    from ..registry import get

    m = get(family, method)
    if m.origin == "built-in":
        m.fn  # noqa: B018 (loads the method's module, and with it its back-end)
    import ortools.sat.python.cp_model  # noqa: F401
    import pulp  # noqa: F401


@lru_cache(maxsize=8)
def _instance(content: str, data_json: str) -> Any:
    from ..io import instance_from_dict

    return instance_from_dict(json.loads(data_json))


def _solve(
    task: Task, content: str, data: dict[str, Any], bound: float, best: float
) -> dict[str, Any]:
    from ..bench.run import solve_row

    s = task.spec
    instance = _instance(content, json.dumps(data, sort_keys=True))
    _warm(s["family"], s["method"])
    return solve_row(
        instance,
        bound,
        best,
        s["method"],
        time_limit=s["time_limit"],
        workers=s["workers"],
        seed=s["seed"],
        options=s["options"],
        params=s["params"],
        suite=s["suite"],
        file=s["file"],
    )


def _simulate(task: Task, workload: Any, cluster: Any) -> dict[str, Any]:
    from ..simulate import TimelineRejected, simulate

    s = task.spec
    try:
        result = simulate(
            workload,
            cluster,
            s["policy"],
            round_seconds=s["round_seconds"],
            rule=s["rule"],
            seed=s["seed"],
            semantics=s["semantics"],
            bound=s["bound"],
            round_time_limit=s["round_time_limit"],
        )
    except TimelineRejected as exc:
        return _failed(task, "rejected", str(exc))
    row = {"status": "ok", "message": ""}
    for k, v in result.to_dict().items():
        if isinstance(v, dict):  # utilisation per GPU type
            row.update({f"{k}_{t}": x for t, x in v.items()})
        else:
            row[k] = v
    row["policy"] = s["policy"]  # as the grid names it
    return row


def _importable(folder: str) -> None:
    """Make the modules of an experiment file's folder importable (plug-in style)."""
    import sys

    if folder and folder not in sys.path:
        sys.path.insert(0, folder)


def _call(task: Task) -> dict[str, Any]:
    from ..problems.record import load_plugin

    s = task.spec
    _importable(s["folder"])
    fn: Any = load_plugin("function", s["function"], s["function"])
    out = fn(**s["params"], seed=s["seed"])
    rows = [out] if isinstance(out, dict) else out
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        got = type(out).__name__
        raise InputError(f"function {s['function']!r} returned {got}, not a dict or list of dicts")
    return {"status": "ok", "message": "", "rows": rows}


def _failed(task: Task, status: str, message: str) -> dict[str, Any]:
    row: dict[str, Any] = {"status": status, "message": message}
    if task.kind == "solve":
        s = task.spec
        row |= {
            "instance": s["file"],
            "family": s["family"],
            "method": s["method"],
            "objective": math.nan,
            "bound": math.nan,
            "gap": math.nan,
            "feasible": None,
            "seed": s["seed"],
            "time_limit": s["time_limit"],
            "workers": s["workers"],
            "suite": s["suite"],
            "file": s["file"],
        }
    return row


@contextmanager
def _deadline(seconds: float | None) -> Iterator[None]:
    """Raise :class:`CellTimeout` in the cell after ``seconds`` (main thread only: a
    pool or Ray worker runs its task there; elsewhere the cell runs to its end)."""
    if seconds is None or threading.current_thread() is not threading.main_thread():
        yield
        return

    def fire(signum: int, frame: Any) -> None:
        raise CellTimeout

    before = signal.signal(signal.SIGALRM, fire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, before)


@lru_cache(maxsize=1)
def _machine() -> dict[str, Any]:
    cpu = platform.processor() or ""
    with_name = Path("/proc/cpuinfo")
    if with_name.is_file():
        for line in with_name.read_text(errors="replace").splitlines():
            if line.startswith("model name"):
                cpu = line.partition(":")[2].strip()
                break
    return {
        "host": socket.gethostname(),
        "cpu_model": cpu,
        "cpu_count": os.cpu_count() or 1,
        "python": platform.python_version(),
        "versions": ", ".join(versions()),
    }


def where_run() -> dict[str, Any]:
    """Host, CPU model, CPU count, Python and solver versions, and the Ray node id
    when the cell ran on Ray."""
    out = dict(_machine())
    import sys

    if "ray" in sys.modules:
        try:
            import ray

            if ray.is_initialized():
                out["ray_node"] = ray.get_runtime_context().get_node_id()
        except Exception:  # not in a Ray worker after all
            pass
    return out
