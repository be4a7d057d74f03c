"""Experiment files: one TOML file declares a grid of cells and the outputs made from them.

An experiment has one or more ``[[grid]]`` tables and any number of
``[[output]]`` tables. A grid is of one of two kinds:

``kind = "solve"``
    instances x methods x method options x seeds, each cell one
    :func:`optsched.solve` with the grid's time limit and workers, its solution
    re-checked and its gap taken against the best proven bound known::

        suites = ["hopper-small"]            # suite names or folders
        instances = ["instances/examples/cerebro_fig5.json"]   # files or globs
        generate = [{family = "hopper", source = "dense", seed = [0, 1], configs = [7, 8]}]
        methods = ["cpsat", "milp", "greedy"]
        seeds = [0]
        random_seeds = 30                    # randomised methods run seeds 0..29 instead
        time_limit = 10                      # seconds per cell (a list is swept)
        workers = 1                          # CP-SAT workers / MILP threads = CPUs per cell
        [grid.options.milp]                  # method options; a list is swept
        solver = ["cbc", "highs"]

``kind = "call"``
    one call of a function per combination of its swept ``params`` and ``seeds``:
    ``function = "module:function"`` (a module of the experiment file's folder, or
    installed) is called as ``function(**params, seed=seed)`` and returns a row (a
    dict) or a list of rows. Its key includes the module's source, so editing it
    reruns its cells. For what the other kinds do not express (a published
    number beside each row, a process per run, a bespoke workload window).

``kind = "simulate"``
    workloads x clusters x policies x seeds, each cell one checked
    :func:`optsched.simulate.simulate`::

        workload = "gavel-generated"         # or philly, helios, itp, alibaba, a trace file
        jobs = 300                           # gavel-generated: jobs in the stream
        rate = [0.5, 1.0, 2.0]               # gavel-generated: arrivals per hour (a list is swept)
        measure = "50:250"                   # jobs whose metrics count (by arrival)
        cluster = "gavel:4:4:4"
        policies = ["fifo", "max_min_fairness"]
        seeds = [0, 1, 2]
        semantics = "gavel"
        bound = true                         # lower bounds and the gaps to them

A list given where a single value is expected is swept: the grid takes every
combination. ``[grid.quick]`` holds overrides for ``optsched run --quick`` (a
reduced grid for CI; ``skip = true`` leaves the grid out of it); ``timeout``
ends a cell after that many seconds and records it as status ``timeout``.
Every path is relative to the working directory, or else to the repository
root.

An ``[[output]]`` names a ``table`` or a ``figure`` made from the rows of one grid
(or a list of grids of one kind)
(see :mod:`.outputs`); ``optsched paper`` makes them all.
"""

from __future__ import annotations

import glob
import itertools
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import tomllib

from ..errors import InputError

KINDS = ("solve", "simulate", "call")

#: Keys a grid of each kind takes (besides ``name``, ``kind``, ``quick``, ``timeout``).
SOLVE_KEYS = (
    "suites",
    "instances",
    "generate",
    "methods",
    "options",
    "params",
    "seeds",
    "random_seeds",
    "time_limit",
    "workers",
)
SIMULATE_KEYS = (
    "workload",
    "jobs",
    "rate",
    "measure",
    "cluster",
    "policies",
    "seeds",
    "semantics",
    "rule",
    "round_seconds",
    "bound",
    "round_time_limit",
    "workers",
)
CALL_KEYS = ("function", "params", "seeds", "workers")
COMMON_KEYS = ("name", "kind", "quick", "timeout", "description")
OUTPUT_KEYS = (
    "kind",
    "grid",
    "file",
    "by",
    "values",
    "plot",
    "title",
    "note",
    "where",
    "compare",
    "times",
    "rows",
    "rename",
    "make",
)


@dataclass(frozen=True)
class Grid:
    """One grid of an experiment: its kind, name and validated fields (``quick``
    overrides already applied when asked for)."""

    name: str
    kind: str
    fields: Mapping[str, Any]
    timeout: float | None = None
    skipped: bool = False  # no cells under --quick (``quick.skip``: too big for CI)

    def get(self, key: str, default: Any = None) -> Any:
        return self.fields.get(key, default)

    def __getitem__(self, key: str) -> Any:
        return self.fields[key]


@dataclass(frozen=True)
class Output:
    """A table or figure of the rows of one or more grids (of one kind; :mod:`.outputs`)."""

    kind: str
    grids: tuple[str, ...]
    file: str
    fields: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Experiment:
    name: str
    path: str
    description: str
    grids: tuple[Grid, ...]
    outputs: tuple[Output, ...]
    quick: bool = False
    folder: str = "."  # where the file is: the modules its call grids name live here

    def grid(self, name: str) -> Grid:
        for g in self.grids:
            if g.name == name:
                return g
        raise InputError(f"{self.path}: no grid named {name!r}")


def read_experiment(path: str | Path, quick: bool = False) -> Experiment:
    """Read and validate an experiment file; ``quick`` applies each grid's ``quick``
    overrides. Errors name the file, the table and the field."""
    from ..io import read_text, shown

    p = Path(path)
    if not p.is_file():
        raise InputError(f"{shown(p)}: no such experiment file")
    try:
        data = tomllib.loads(read_text(p))
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{shown(p)}: not valid TOML ({exc})") from None
    exp = experiment_from_dict(data, shown(p), quick=quick, default_name=p.stem)
    return replace(exp, folder=str(p.resolve().parent))


def experiment_from_dict(
    data: Mapping[str, Any], where: str, quick: bool = False, default_name: str = "experiment"
) -> Experiment:
    unknown = sorted(set(data) - {"name", "description", "grid", "output"})
    if unknown:
        raise InputError(f"{where}: unknown key {unknown[0]!r} (name, description, grid, output)")
    name = data.get("name", default_name)
    if not isinstance(name, str) or not name or "/" in name:
        raise InputError(f"{where}: name must be a non-empty string without '/', got {name!r}")
    grids_data = data.get("grid")
    if not isinstance(grids_data, list) or not grids_data:
        raise InputError(f"{where}: needs at least one [[grid]] table")
    grids = []
    for k, g in enumerate(grids_data, 1):
        grids.append(_grid(g, f"{where}: grid {k}", k, quick))
    names = [g.name for g in grids]
    dup = next((n for n in names if names.count(n) > 1), None)
    if dup:
        raise InputError(f"{where}: two grids are named {dup!r}")
    outputs = []
    for k, o in enumerate(data.get("output", []), 1):
        outputs.append(_output(o, f"{where}: output {k}", names))
    desc = data.get("description", "")
    if not isinstance(desc, str):
        raise InputError(f"{where}: description must be a string, got {desc!r}")
    return Experiment(name, where, desc, tuple(grids), tuple(outputs), quick)


def _grid(data: Any, ctx: str, k: int, quick: bool) -> Grid:
    if not isinstance(data, dict):
        raise InputError(f"{ctx}: must be a table")
    kind = data.get("kind")
    if kind not in KINDS:
        raise InputError(f"{ctx}: kind must be one of {', '.join(KINDS)}, got {kind!r}")
    name = data.get("name", f"grid{k}")
    if not isinstance(name, str) or not name:
        raise InputError(f"{ctx}: name must be a non-empty string, got {name!r}")
    ctx = f"{ctx} ({name})"
    allowed = {"solve": SOLVE_KEYS, "simulate": SIMULATE_KEYS, "call": CALL_KEYS}[kind]
    allowed += COMMON_KEYS
    unknown = sorted(set(data) - set(allowed))
    if unknown:
        raise InputError(f"{ctx}: unknown key {unknown[0]!r} for a {kind} grid")
    fields = {key: value for key, value in data.items() if key not in COMMON_KEYS}
    over = data.get("quick", {})
    if not isinstance(over, dict):
        raise InputError(f"{ctx}: quick must be a table of overrides, got {over!r}")
    bad = sorted(set(over) - set(allowed) - {"timeout", "skip"})
    if bad:
        raise InputError(f"{ctx}: quick: unknown key {bad[0]!r} for a {kind} grid")
    timeout = data.get("timeout")
    skip = over.get("skip", False)
    if not isinstance(skip, bool):
        raise InputError(f"{ctx}: quick: skip must be true or false, got {skip!r}")
    if quick:  # a table of overrides merges into the grid's table (params, options)
        for key, v in over.items():
            if key in ("timeout", "skip"):
                continue
            if isinstance(v, dict) and isinstance(fields.get(key), dict):
                fields[key] = _merged(fields[key], v)
            else:
                fields[key] = v
        timeout = over.get("timeout", timeout)
    if timeout is not None and not _positive(timeout):
        raise InputError(f"{ctx}: timeout must be a number of seconds > 0, got {timeout!r}")
    {"solve": _check_solve, "simulate": _check_simulate, "call": _check_call}[kind](fields, ctx)
    return Grid(name, kind, fields, None if timeout is None else float(timeout), quick and skip)


def _merged(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in over.items():
        out[k] = _merged(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def _positive(value: Any) -> bool:
    return (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and math.isfinite(value)
        and value > 0
    )


def _names(value: Any, key: str, ctx: str, required: bool = True) -> list[str]:
    if value is None and not required:
        return []
    if isinstance(value, str):
        value = [value]
    if (
        not isinstance(value, list)
        or (required and not value)
        or not all(isinstance(v, str) and v for v in value)
    ):
        raise InputError(f"{ctx}: {key} must be a non-empty list of names, got {value!r}")
    return value


def _ints(value: Any, key: str, ctx: str, minimum: int = 0) -> list[int]:
    values = value if isinstance(value, list) else [value]
    if not values or not all(
        isinstance(v, int) and not isinstance(v, bool) and v >= minimum for v in values
    ):
        raise InputError(f"{ctx}: {key} must be integers >= {minimum}, got {value!r}")
    return values


def _check_solve(f: dict[str, Any], ctx: str) -> None:
    if not any(f.get(k) for k in ("suites", "instances", "generate")):
        raise InputError(f"{ctx}: needs suites, instances or generate")
    for key in ("suites", "instances"):
        if key in f:
            f[key] = _names(f[key], key, ctx)
    gen = f.get("generate", [])
    if isinstance(gen, dict):
        gen = [gen]
    if not isinstance(gen, list) or not all(isinstance(g, dict) for g in gen):
        raise InputError(f"{ctx}: generate must be a list of tables, got {gen!r}")
    for g in gen:
        if not isinstance(g.get("family"), str) or not isinstance(g.get("source"), str):
            raise InputError(f"{ctx}: generate needs family and source names, got {g!r}")
    f["generate"] = gen
    f["methods"] = _names(f.get("methods"), "methods", ctx)
    f["seeds"] = _ints(f.get("seeds", [0]), "seeds", ctx)
    if "random_seeds" in f:
        f["random_seeds"] = _ints(f["random_seeds"], "random_seeds", ctx, minimum=1)[0]
    limits = f.get("time_limit", 10.0)
    for tl in limits if isinstance(limits, list) else [limits]:
        if tl is not None and not _positive(tl):
            raise InputError(f"{ctx}: time_limit must be a number of seconds > 0, got {tl!r}")
    f["time_limit"] = [float(t) for t in limits] if isinstance(limits, list) else float(limits)
    workers = _ints(f.get("workers", 1), "workers", ctx, minimum=1)
    f["workers"] = workers if isinstance(f.get("workers"), list) else workers[0]
    for key in ("options", "params"):
        table = f.get(key, {})
        if not isinstance(table, dict) or not all(isinstance(v, dict) for v in table.values()):
            raise InputError(f"{ctx}: {key} must be a table of tables per method, got {table!r}")
        unknown = sorted(set(table) - set(f["methods"]))
        if unknown:
            raise InputError(f"{ctx}: {key}: {unknown[0]!r} is not one of the grid's methods")
        f[key] = table


def _check_simulate(f: dict[str, Any], ctx: str) -> None:
    w = f.get("workload")
    if not isinstance(w, str) or not w:
        raise InputError(f"{ctx}: workload must be a name or a trace file, got {w!r}")
    if w == "gavel-generated":
        _ints(f.get("jobs"), "jobs", ctx, minimum=1)
        rates = f.get("rate")
        if not all(_positive(r) for r in (rates if isinstance(rates, list) else [rates])):
            raise InputError(f"{ctx}: rate must be arrivals per hour > 0, got {rates!r}")
    elif "rate" in f or "jobs" in f:
        raise InputError(f"{ctx}: rate and jobs apply to workload gavel-generated only")
    f["policies"] = _names(f.get("policies"), "policies", ctx)
    f["seeds"] = _ints(f.get("seeds", [0]), "seeds", ctx)
    f["workers"] = _one_int(f.get("workers", 1), "workers", ctx)
    for key in ("cluster", "semantics", "rule", "measure"):
        v = f.get(key)
        if v is not None and not (
            isinstance(v, str) or (isinstance(v, list) and all(isinstance(x, str) for x in v))
        ):
            raise InputError(f"{ctx}: {key} must be a string (or a list to sweep), got {v!r}")
    from ..model.state import RULES

    rules = f.get("rule", [])
    for rule in rules if isinstance(rules, list) else [rules]:
        if rule not in RULES:
            raise InputError(f"{ctx}: rule must be one of {', '.join(RULES)}, got {rule!r}")
    for key in ("round_seconds", "round_time_limit"):
        v = f.get(key)
        if v is not None and not _positive(v):
            raise InputError(f"{ctx}: {key} must be a number of seconds > 0, got {v!r}")
    if not isinstance(f.get("bound", False), bool):
        raise InputError(f"{ctx}: bound must be true or false, got {f['bound']!r}")


def _check_call(f: dict[str, Any], ctx: str) -> None:
    fn = f.get("function")
    if not isinstance(fn, str) or ":" not in fn:
        raise InputError(f"{ctx}: function must be 'module:function', got {fn!r}")
    params = f.get("params", {})
    if not isinstance(params, dict):
        raise InputError(f"{ctx}: params must be a table (a list value is swept), got {params!r}")
    f["params"] = params
    f["seeds"] = _ints(f.get("seeds", [0]), "seeds", ctx)
    f["workers"] = _one_int(f.get("workers", 1), "workers", ctx)


def _one_int(value: Any, key: str, ctx: str) -> int:
    """A CPU count that only solve grids sweep: one integer >= 1 here."""
    if isinstance(value, list) and len(value) != 1:
        raise InputError(
            f"{ctx}: {key} must be one integer here (solve grids sweep it), got {value!r}"
        )
    return _ints(value, key, ctx, minimum=1)[0]


def _output(data: Any, ctx: str, grids: list[str]) -> Output:
    if not isinstance(data, dict):
        raise InputError(f"{ctx}: must be a table")
    unknown = sorted(set(data) - set(OUTPUT_KEYS))
    if unknown:
        raise InputError(f"{ctx}: unknown key {unknown[0]!r}")
    kind = data.get("kind")
    if kind not in ("table", "figure"):
        raise InputError(f"{ctx}: kind must be table or figure, got {kind!r}")
    grid = data.get("grid", grids[0] if len(grids) == 1 else None)
    chosen = grid if isinstance(grid, list) and grid else [grid]
    if not all(g in grids for g in chosen):
        raise InputError(f"{ctx}: grid must be one of {', '.join(grids)} (or a list), got {grid!r}")
    file = data.get("file")
    if not isinstance(file, str) or not file:
        raise InputError(f"{ctx}: file must be a path, got {file!r}")
    from .outputs import check_output

    rest = {k: v for k, v in data.items() if k not in ("kind", "grid", "file")}
    check_output(kind, file, rest, ctx)
    return Output(kind, tuple(str(g) for g in chosen), file, rest)


def sweep(table: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    """Every combination of a table whose list values are swept, in key order."""
    keys = sorted(table)
    lists = [table[k] if isinstance(table[k], list) else [table[k]] for k in keys]
    for combo in itertools.product(*lists):
        yield dict(zip(keys, combo))


def resolve_path(text: str) -> list[Path]:
    """The files a grid's path or glob names: relative to the working directory, or
    else to the repository root."""
    from ..bench.suites import ROOT

    for base in (Path.cwd(), ROOT):
        pattern = str(base / text) if not Path(text).is_absolute() else text
        found = sorted(Path(p) for p in glob.glob(pattern))
        if found:
            return found
    raise InputError(f"instances: {text!r} matches no file")
