"""Commands that run methods on instances: ``solve``, ``gap``, ``methods``."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ..errors import InputError
from .common import (
    EXIT_INTERNAL,
    EXIT_OK,
    add_command,
    add_run_options,
    add_solver_options,
    emit,
    fmt,
    gap_text,
    logs_to_stderr,
    solver_params,
)


def _method_options(args: argparse.Namespace) -> dict[str, Any]:
    out: dict[str, Any] = {"params": solver_params(args), "log": args.log}
    if args.solver:
        out["solver"] = args.solver
    return out


def cmd_solve(args: argparse.Namespace) -> int:
    from ..core import Status
    from ..io import read_instance, read_solution, write_solution
    from ..solve import solve

    inst = read_instance(args.instance)
    warm = read_solution(args.warm_start, inst) if args.warm_start else None
    with logs_to_stderr(args.log):
        result = solve(
            inst,
            args.method,
            time_limit=args.time_limit,
            workers=args.workers,
            seed=args.seed,
            warm_start=warm,
            **_method_options(args),
        )
    if result.status is Status.UNSUPPORTED:  # the method does not take this instance
        raise InputError(result.message)
    if args.out and result.solution is not None:
        write_solution(args.out, result.solution, instance=inst)
    if args.json:
        emit(result.to_dict())
    else:
        print(result.summary())
        if args.out and result.solution is not None:
            print(f"  solution written to {args.out}")
    return EXIT_INTERNAL if result.status is Status.ERROR else EXIT_OK


def _simulation_summaries(paths: list[str]) -> list[dict[str, Any]] | None:
    """The simulation summaries among ``paths`` (a ``simulate -o`` folder stands for its
    ``summary.json``), or ``None`` when they are instances."""
    import json

    from ..simulate.bounds import is_summary

    found: list[dict[str, Any]] = []
    other = 0
    for arg in paths:
        p = Path(arg)
        if p.suffix in (".toml", ".sqlite", ".db"):  # an experiment's simulations
            from ..experiment.runner import stored_rows

            found += [r for r in stored_rows(p) if r["kind"] == "simulate" and r["status"] == "ok"]
            continue
        if p.is_dir() and (p / "summary.json").is_file():
            p = p / "summary.json"
        try:
            data = json.loads(p.read_text()) if p.is_file() and p.suffix == ".json" else None
        except (OSError, UnicodeDecodeError, ValueError):
            data = None
        if is_summary(data):
            assert isinstance(data, dict)
            found.append(data)
        else:
            other += 1
    if found and other:
        raise InputError("give gap either simulation results or instances, not both")
    return found or None


def cmd_gap_simulations(args: argparse.Namespace, summaries: list[dict[str, Any]]) -> int:
    from ..simulate.bounds import gap_rows

    rows = gap_rows(summaries, args.method, args.against)
    if args.json:
        for row in rows:
            emit(row)
        return EXIT_OK
    print(f"{'workload':<28} {'metric':<9} {'value':>12} {'reference':>12} {'gap':>9}  against")
    for r in rows:
        print(
            f"{str(r['workload'])[:28]:<28} {r['metric']:<9} {r['value_s'] / 3600:>11.4g}h "
            f"{r['reference_s'] / 3600:>11.4g}h {gap_text(r['gap']):>9}  {r['reference']}"
        )
    return EXIT_OK


def cmd_gap(args: argparse.Namespace) -> int:
    from ..bench import gap_table, suite_files, summarize
    from ..bench.references import REFERENCE_FILE
    from ..io import read_instance

    summaries = _simulation_summaries(args.instances)
    if summaries is not None:
        return cmd_gap_simulations(args, summaries)

    files: list[Path] = []
    for arg in args.instances:  # a suite folder stands for its instances
        p = Path(arg)
        if p.is_dir():
            files += suite_files(p)
        elif p.name != REFERENCE_FILE:  # a glob over a suite also matches its reference
            files.append(p)
    instances = [read_instance(f) for f in files]
    folders = [f.resolve().parent for f in files]
    with logs_to_stderr(args.log):
        df = gap_table(
            instances,
            args.method,
            args.against,
            args.time_limit,
            args.workers,
            args.seed,
            folders=folders,
            **_method_options(args),
        )
    summary = summarize(df)
    if args.json:
        for row in df.to_dict(orient="records"):
            emit(row)
        emit({"summary": summary, "method": args.method, "against": args.against})
        return EXIT_INTERNAL if (df["status"] == "error").any() else EXIT_OK
    print(
        f"{'instance':<34} {'status':<11} {'objective':>12} {'reference':>12} {'gap':>9}  "
        "checker  reference from"
    )
    for row in df.itertuples(index=False):
        check_text = {True: "ok", False: "FAIL"}.get(row.feasible, "-")
        print(
            f"{row.instance[:34]:<34} {row.status:<11} {fmt(row.objective):>12} "
            f"{fmt(row.reference):>12} {gap_text(row.gap):>9}  {check_text:<7}  "
            f"{row.reference_kind}"
        )
    s = summary
    if s["mean"] is None:
        print(f"summary: {s['n']} instance(s), none with a finite gap")
    else:
        print(
            f"summary: {s['n']} instance(s); gap mean {s['mean']:.4%}, geometric mean "
            f"{s['geomean']:.4%}, max {s['max']:.4%}; within 0.1%: {s['within_0.1%']}"
            + (f"; no gap: {s['no_gap']}" if s["no_gap"] else "")
        )
    for row in df.itertuples(index=False):
        if row.status in ("unsupported", "error") and row.message:
            print(f"  {row.instance}: {row.status}: {row.message}")
    return EXIT_INTERNAL if (df["status"] == "error").any() else EXIT_OK


def cmd_methods(args: argparse.Namespace) -> int:
    from ..registry import methods

    for m in methods(args.family):
        if args.json:
            emit(
                {
                    "family": m.family,
                    "name": m.name,
                    "display": m.display,
                    "kind": m.kind,
                    "summary": m.summary,
                    "origin": m.origin,
                }
            )
        else:
            print(f"{m.family:<10} {m.name:<16} {m.kind:<9} {m.summary}")
    return EXIT_OK


def register(sub: Any) -> None:
    from ..problems import FAMILIES

    sp = add_command(
        sub, "solve", cmd_solve, "solve an instance with a method; the solution is re-checked"
    )
    sp.add_argument("instance", help="instance file")
    sp.add_argument(
        "--method", "-m", default="cpsat", help="cpsat, milp, a heuristic, or module:function"
    )
    add_run_options(sp, time_limit=None)
    add_solver_options(sp)
    sp.add_argument("--warm-start", help="a solution file to start from")
    sp.add_argument("--out", "-o", help="write the solution here (JSON)")

    sp = add_command(sub, "gap", cmd_gap, "optimality gap of a method on instances, with a summary")
    sp.add_argument(
        "instances",
        nargs="+",
        help="instance files or suite folders; or simulation results (simulate -o folders "
        "or their summary.json), whose policy --method names",
    )
    sp.add_argument("--method", "-m", required=True, help="the method (or policy) to measure")
    sp.add_argument(
        "--against",
        "-a",
        default="bound",
        help="bound, best, or a method name (for simulations: bound, or a policy name)",
    )
    add_run_options(sp, time_limit=60.0)
    add_solver_options(sp)

    sp = add_command(sub, "methods", cmd_methods, "list methods by family")
    sp.add_argument("--family", choices=list(FAMILIES), help="only this family")
