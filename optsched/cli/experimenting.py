"""Commands over experiment files: ``run``, ``plot`` and ``paper``."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ..errors import InputError
from .common import EXIT_OK, add_command, emit, positive_int


def _open(args: argparse.Namespace) -> tuple[Any, Any]:
    from ..experiment import open_store, read_experiment

    exp = read_experiment(args.experiment, quick=getattr(args, "quick", False))
    return exp, open_store(args.store, exp)


RETRYABLE = ("error", "timeout", "rejected")


def _statuses(text: str) -> tuple[str, ...]:
    names = tuple(t.strip() for t in text.split(",") if t.strip())
    bad = [n for n in names if n not in RETRYABLE]
    if bad or not names:
        raise argparse.ArgumentTypeError(
            f"must be statuses among {', '.join(RETRYABLE)}, got {text!r}"
        )
    return names


def cmd_run(args: argparse.Namespace) -> int:
    from ..experiment import make_executor, run_experiment

    exp, store = _open(args)
    executor = make_executor(args.executor, args.jobs, args.address)
    try:
        with store:
            report = run_experiment(
                exp,
                store,
                executor,
                force=args.force,
                retry=args.retry,
                progress=not args.json,
                longest_first=args.longest_first,
            )
            if args.json:
                emit({"experiment": exp.name, "store": str(store.path), **vars(report)})
                return EXIT_OK
            print(
                f"{exp.name}: {report.cells} cells on {executor.describe()}; "
                f"{report.done_before} already in {store.path}, {report.ran} run now"
                + (f" ({report.failed} failed or timed out)" if report.failed else "")
                + (
                    f"; {report.skipped_claimed} left to another run of this store"
                    if report.skipped_claimed
                    else ""
                )
            )
            _print_tables(exp, store)
    finally:
        executor.close()
    return EXIT_OK


def _print_tables(exp: Any, store: Any) -> None:
    from ..bench.report import to_markdown
    from ..experiment import results
    from ..experiment.outputs import NoRows, table_frame

    for grid in exp.grids:
        df = results(exp, store, grid.name)
        if df.empty:
            continue
        if grid.kind == "call":  # its tables are its outputs' (optsched paper)
            failed = int((df.get("cell_status", "ok") != "ok").sum())
            print(
                f"\n{grid.name} (call, {len(df)} rows" + (f", {failed} failed)" if failed else ")")
            )
            continue
        if grid.kind == "solve":
            fields: dict[str, Any] = {"by": ["family", "method"]}
        else:
            cols = ("rate", "cluster", "semantics", "workload")
            swept = [c for c in cols if c in df.columns and df[c].nunique() > 1]
            fields = {"by": ["policy", *swept]}
        print(f"\n{grid.name} ({grid.kind}, {len(df)} cells)")
        try:
            print(to_markdown(table_frame(grid.kind, df, fields), floatfmt=".3g"))
        except NoRows:
            print("no finished cells: see their messages in the store")


def cmd_plot(args: argparse.Namespace) -> int:
    from ..experiment.outputs import font_context, new_figure, save_figure

    out = Path(args.out)
    if args.what == "experiment":
        from ..experiment.paper import make_outputs

        exp, store = _open(args)
        with store:
            written = make_outputs(exp, store, Path(args.out), kinds=("figure",))
        for path in written:
            print(f"wrote {path}")
        return EXIT_OK
    from ..bench import figures

    with font_context():
        fig, (ax,) = new_figure(1, height=2.6)
        if args.what == "utilisation":
            events, num_gpus = _timeline(Path(args.inputs[0]), args.cluster)
            figures.plot_utilisation(events, num_gpus, ax=ax)
        else:
            from ..io import read_instance, read_solution

            if len(args.inputs) != 2:
                raise InputError(f"plot {args.what}: give an instance and a solution file")
            inst = read_instance(args.inputs[0])
            sol = read_solution(args.inputs[1], inst)
            if args.what == "gantt":
                figures.plot_gantt(inst, sol, ax=ax)
            else:
                figures.plot_gpu_map(inst, sol, ax=ax)
    for path in save_figure(fig, out):
        print(f"wrote {path}")
    return EXIT_OK


def _timeline(folder: Path, cluster: str | None) -> tuple[list[Any], int]:
    """The events of a ``simulate -o`` folder, and its cluster's GPU count."""
    import json

    from ..simulate.engine import Event
    from .simulating import parse_cluster

    path = folder / "timeline.jsonl" if folder.is_dir() else folder
    if not path.is_file():
        raise InputError(f"{folder}: no timeline.jsonl (write one with optsched simulate -o)")
    if cluster is None:
        raise InputError("plot utilisation: --cluster names the simulated cluster")
    events = []
    for n, line in enumerate(path.read_text().splitlines(), 1):
        try:
            data = json.loads(line)
        except ValueError:
            raise InputError(f"{path}: line {n} is not JSON") from None
        if not isinstance(data, dict) or data.get("event") == "solve":
            continue
        try:
            gpus = tuple(data.get("gpus", ()))
            events.append(Event(float(data["t"]), str(data["event"]), str(data["job"]), gpus))
        except (KeyError, TypeError, ValueError):
            raise InputError(f"{path}: line {n} is not a timeline event") from None
    return events, parse_cluster(cluster).num_gpus


def cmd_paper(args: argparse.Namespace) -> int:
    from ..experiment.paper import paper, write_manifest

    if args.manifest_only:
        path = write_manifest(Path(args.experiments), Path(args.out or "paper_figures"), args.quick)
        print(f"wrote {path}")
        return EXIT_OK
    written = paper(
        Path(args.experiments),
        Path(args.out) if args.out else None,
        quick=args.quick,
        executor=args.executor,
        jobs=args.jobs,
        address=args.address,
        only=args.only.split(",") if args.only else None,
        progress=not args.json,
    )
    if args.json:
        for entry in written:
            emit(entry)
    return EXIT_OK


def _executor_options(sp: argparse.ArgumentParser) -> None:
    from ..experiment import EXECUTORS

    sp.add_argument(
        "--executor",
        "-e",
        choices=EXECUTORS,
        default="local",
        help="serial (this process), local (a process pool) or ray",
    )
    sp.add_argument("--address", help="a running Ray cluster (ray://HOST:PORT or auto)")
    sp.add_argument(
        "--jobs",
        "-j",
        type=positive_int,
        default=None,
        help="CPUs to use (local pool; a local Ray instance); a cell takes as many as its "
        "workers (default: all of this machine's)",
    )


def register(sub: Any) -> None:
    sp = add_command(
        sub, "run", cmd_run, "run an experiment file's grid (resumable; local pool or Ray)"
    )
    sp.add_argument("experiment", help="an experiment file (experiments/*.toml)")
    _executor_options(sp)
    sp.add_argument("--store", help="result store, a .sqlite file (default: results/NAME.sqlite)")
    sp.add_argument("--quick", action="store_true", help="the grid's quick overrides (CI)")
    sp.add_argument("--force", action="store_true", help="run every cell again")
    sp.add_argument(
        "--retry",
        type=_statuses,
        default=(),
        metavar="STATUS[,STATUS]",
        help="run again the cells stored with these statuses (error, timeout, rejected), "
        "e.g. after fixing what made them fail",
    )
    sp.add_argument("--longest-first", action="store_true", help="start the longest cells first")

    sp = add_command(sub, "plot", cmd_plot, "draw an experiment's figures, or one schedule")
    sp.add_argument(
        "what",
        choices=("experiment", "gantt", "gpu-map", "utilisation"),
        help="experiment: every figure an experiment file declares; gantt: a hopper, spase "
        "or timeslot schedule; gpu-map: a placement; utilisation: a simulated timeline",
    )
    sp.add_argument(
        "inputs",
        nargs="+",
        help="experiment: its file; gantt, gpu-map: INSTANCE SOLUTION; utilisation: a "
        "simulate -o folder",
    )
    sp.add_argument(
        "--out",
        "-o",
        required=True,
        help="experiment: a folder for its outputs; otherwise the figure (.png and .pdf)",
    )
    sp.add_argument("--cluster", help="utilisation: the cluster the timeline ran on")
    sp.add_argument("--store", help="experiment: its result store")
    sp.add_argument("--quick", action="store_true", help="experiment: its quick grid")

    sp = add_command(
        sub,
        "paper",
        cmd_paper,
        "run every experiment file and regenerate its tables and figures, with a manifest",
    )
    _executor_options(sp)
    sp.add_argument("--experiments", default="experiments", help="the folder of experiment files")
    sp.add_argument(
        "--out",
        "-o",
        help="where tables and figures go (default: paper_figures; with --quick, "
        "results/paper-quick)",
    )
    sp.add_argument("--quick", action="store_true", help="each grid's reduced quick version")
    sp.add_argument("--only", help="comma-separated experiment names")
    sp.add_argument(
        "--manifest-only",
        action="store_true",
        help="only write the manifest of what the experiment files declare",
    )
