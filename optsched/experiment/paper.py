"""``optsched paper``: run every experiment file, then make every table and figure they
declare, and a manifest that says for each file which experiment and command made it.

Outputs are written under one folder (``paper_figures/`` by default), each file
atomically; ``--quick`` runs each grid's reduced version into another folder
(``results/paper-quick/``), so that CI exercises every path without
overwriting the published tables.
"""

from __future__ import annotations

import shlex
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..errors import InputError
from .executors import make_executor
from .outputs import figure_of, save_figure, table_frame, write_table
from .runner import open_store, results, run_experiment
from .spec import Experiment, read_experiment
from .store import Store

MANIFEST = "MANIFEST.md"


def make_outputs(
    exp: Experiment, store: Store, out: Path, kinds: Sequence[str] = ("table", "figure")
) -> list[Path]:
    """Write the experiment's outputs of ``kinds`` under ``out``; the files written."""
    written: list[Path] = []
    frames: dict[str, Any] = {}
    for o in exp.outputs:
        if o.kind not in kinds:
            continue
        if o.grid not in frames:
            frames[o.grid] = results(exp, store, o.grid)
        df = frames[o.grid]
        where = f"{exp.path}: output {o.file}"
        try:
            if o.kind == "table":
                path = out / o.file
                write_table(
                    path,
                    table_frame(exp.grid(o.grid).kind, df, dict(o.fields)),
                    o.fields.get("title", ""),
                )
                written.append(path)
            else:
                fig = figure_of(df, dict(o.fields))
                written += save_figure(fig, out / o.file)
        except InputError as exc:
            raise InputError(f"{where}: {exc}") from None
    return written


def paper(
    folder: Path,
    out: Path | None = None,
    *,
    quick: bool = False,
    executor: str = "local",
    jobs: int | None = None,
    address: str | None = None,
    only: Sequence[str] | None = None,
    progress: bool = True,
) -> list[dict[str, Any]]:
    """Run each experiment of ``folder`` that declares outputs and write them; returns
    the manifest's entries (file, experiment, command)."""
    out = out or (Path("results/paper-quick") if quick else Path("paper_figures"))
    files = sorted(folder.glob("*.toml"))
    if not files:
        raise InputError(f"{folder}: no experiment files (*.toml)")
    exps = [read_experiment(f, quick=quick) for f in files]
    if only:
        unknown = sorted(set(only) - {e.name for e in exps})
        if unknown:
            raise InputError(f"--only: no experiment named {unknown[0]!r} in {folder}")
        exps = [e for e in exps if e.name in only]
    exps = [e for e in exps if e.outputs]
    ex = make_executor(executor, jobs, address)
    entries: list[dict[str, Any]] = []
    try:
        for exp in exps:
            start = time.perf_counter()
            with open_store(None, exp) as store:
                run_experiment(exp, store, ex, progress=progress)
                written = make_outputs(exp, store, out)
            flag = " --quick" if quick else ""
            command = f"optsched run {shlex.quote(exp.path)}{flag}"
            for path in written:
                entries.append(
                    {
                        "file": str(path.relative_to(out)),
                        "experiment": exp.name,
                        "source": exp.path,
                        "command": command,
                        "seconds": round(time.perf_counter() - start, 1),
                    }
                )
            if progress:
                print(f"{exp.name}: {len(written)} file(s) in {out}")
    finally:
        ex.close()
    _write_manifest(out, entries, quick)
    return entries


def _write_manifest(out: Path, entries: list[dict[str, Any]], quick: bool) -> None:
    from ..io import write_text

    path = out / MANIFEST
    old: dict[str, str] = {}
    if path.is_file():  # keep the lines of experiments not rerun this time
        for line in path.read_text().splitlines():
            if line.startswith("| `"):
                old[line.split("`")[1]] = line
    for e in entries:
        old[e["file"]] = (
            f"| `{e['file']}` | {e['experiment']} | `{e['command']}` then "
            f"`optsched paper{' --quick' if quick else ''} --only {e['experiment']}` |"
        )
    lines = [
        "# Manifest",
        "",
        "Each file here, the experiment that declares it, and the commands that make it "
        "(`optsched paper` runs the experiment, then writes its outputs).",
        "",
        "| file | experiment | command |",
        "| --- | --- | --- |",
        *(old[k] for k in sorted(old)),
    ]
    write_text(path, "\n".join(lines) + "\n")
