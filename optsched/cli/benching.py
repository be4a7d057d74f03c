"""Commands over many runs: ``bench`` and ``table``."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ..errors import InputError
from .common import (
    EXIT_OK,
    MAX_SEED,
    add_command,
    add_run_options,
    count,
    emit,
    positive_int,
    seed_number,
)


def cmd_bench(args: argparse.Namespace) -> int:
    from ..bench import DEFAULT_METHODS, DEFAULT_SUITES, run, summary_table, to_markdown

    suites = args.suites or list(DEFAULT_SUITES)
    methods = [m for m in (args.methods.split(",") if args.methods else DEFAULT_METHODS) if m]
    try:
        seeds = [seed_number(s) for s in args.seeds.split(",")]
    except argparse.ArgumentTypeError:
        raise InputError(
            f"bench: --seeds must be integers in [0, {MAX_SEED}] separated by commas, "
            f"got {args.seeds!r}"
        ) from None
    out = Path(args.out)
    df = run(
        suites,
        methods,
        out,
        args.time_limit,
        args.workers,
        args.parallel,
        seeds,
        progress=not args.json,
        force=args.force,
        random_seeds=args.random_seeds,
    )
    if args.json:
        for row in df.to_dict(orient="records"):
            emit(row)
        return EXIT_OK
    table = summary_table(df, ["suite", "method"], readable=True)
    print(
        f"{len(df)} runs, results in {out}  (time limit {args.time_limit} s, "
        f"{args.workers} worker(s), seeds {args.seeds}); gaps are over the instances "
        "every method of a suite solved"
    )
    print(to_markdown(table, floatfmt=".3g"))
    bad = df[df["feasible"] == False]  # noqa: E712
    if len(bad):
        print(f"checker rejected {len(bad)} solution(s): see the results file")
    return EXIT_OK


def cmd_table(args: argparse.Namespace) -> int:
    from ..bench import frame, load_results, summary_table, to_latex, to_markdown
    from ..io import write_text

    args.by_given = args.by is not None
    args.by = args.by or "family,method"
    path = Path(args.results)
    by = [c for c in args.by.split(",") if c]
    if path.suffix in (".toml", ".sqlite", ".db"):
        table = _experiment_table(path, args, by)
    else:
        table = summary_table(frame(load_results(path)), by, readable=not args.json)
    if args.json:
        for row in table.to_dict(orient="records"):
            emit(row)
        return EXIT_OK
    if args.format == "latex":
        text = to_latex(table, floatfmt=".3g", caption=args.caption, label=args.label)
    else:
        text = to_markdown(table, floatfmt=".3g") + "\n"
    if args.out:
        write_text(args.out, text)
        print(f"wrote {args.out}")
    else:
        print(text, end="")
    return EXIT_OK


def _experiment_table(path: Path, args: argparse.Namespace, by: list[str]) -> Any:
    """The gap table of an experiment's solve cells, or with ``--values`` (or only
    simulations), the means and 95% intervals of its simulate cells."""
    import pandas as pd

    from ..bench import summary_table
    from ..experiment.outputs import SIM_VALUES, sim_table
    from ..experiment.runner import stored_rows

    df = pd.DataFrame(stored_rows(path, args.store))
    if args.grid:
        if "grid" not in df or args.grid not in set(df["grid"]):
            raise InputError(f"table: no rows of grid {args.grid!r} in {path}")
        df = df[df["grid"] == args.grid]
    if df.empty:
        raise InputError(f"table: {path} holds no rows")
    kinds = set(df["kind"])
    if args.values or kinds == {"simulate"}:
        sims = df[df["kind"] == "simulate"]
        if sims.empty:
            raise InputError(f"table: --values: {path} holds no simulations")
        values = args.values.split(",") if args.values else list(SIM_VALUES)
        return sim_table(sims, by if args.by_given else ["policy"], values)
    solves = df[df["kind"] == "solve"]
    if solves.empty:
        raise InputError(
            f"table: {path} holds no solve or simulate cells (call grids' tables are the "
            "outputs optsched paper writes)"
        )
    numbers = {
        c: pd.to_numeric(solves[c], errors="coerce") for c in ("objective", "bound", "gap", "time")
    }
    return summary_table(solves.assign(**numbers), by, readable=not args.json)


def register(sub: Any) -> None:
    sp = add_command(
        sub, "bench", cmd_bench, "run methods over suites (resumable) and print the gap table"
    )
    sp.add_argument(
        "suites",
        nargs="*",
        help="suite folders or names under instances/ (default: every family's *-small suite)",
    )
    sp.add_argument(
        "--methods",
        "-m",
        help="comma-separated (default: cpsat,milp,greedy); methods a family lacks are "
        "skipped for it",
        default=None,
    )
    add_run_options(sp, time_limit=10.0, seeds=True)
    sp.add_argument(
        "--random-seeds",
        type=count,
        default=None,
        help="randomised methods (random, randomized) run seeds 0..N-1 instead of --seeds",
    )
    sp.add_argument(
        "--parallel",
        "-j",
        type=positive_int,
        default=1,
        help="cells run at once, each in its own process",
    )
    sp.add_argument(
        "--out",
        "-o",
        default="results/bench.jsonl",
        help="results (JSON lines; a re-run skips the cells it holds: same instance content, "
        "method, plug-in source, seed, time limit, workers and versions)",
    )
    sp.add_argument(
        "--force", action="store_true", help="run every cell again (its new row replaces the old)"
    )
    sp = add_command(sub, "table", cmd_table, "render results as a gap table")
    sp.add_argument(
        "results",
        help="a results file (JSON lines) of bench, an experiment file (its current cells) "
        "or a result store (.sqlite: all its cells)",
    )
    sp.add_argument(
        "--by", default=None, help="columns to group by (default: family,method; policy)"
    )
    sp.add_argument(
        "--values",
        help="simulations: comma-separated metrics to average over seeds (default: "
        "avg_jct_s,makespan_s)",
    )
    sp.add_argument("--grid", help="an experiment's grid")
    sp.add_argument("--store", help="an experiment file's store (default: results/NAME.sqlite)")
    sp.add_argument("--format", "-f", choices=("markdown", "latex"), default="markdown")
    sp.add_argument("--out", "-o", help="write here instead of stdout")
    sp.add_argument("--caption", help="LaTeX caption")
    sp.add_argument("--label", help="LaTeX label")
