"""``optsched paper``: run every experiment file, then make every table and figure they
declare, and a manifest that says for each file which experiment and command made it.

Outputs are written under one folder (``paper_figures/`` by default), each file
atomically; ``--quick`` runs each grid's reduced version into another folder
(``results/paper-quick/``), so that CI exercises every path without
overwriting the published tables.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..errors import InputError
from .cells import validate
from .executors import make_executor
from .outputs import NoRows, figure_of, save_figure, table_frame, write_table
from .runner import open_store, results, run_experiment
from .spec import Experiment, read_experiment
from .store import Store

MANIFEST = "MANIFEST.md"


def make_outputs(
    exp: Experiment,
    store: Store,
    out: Path,
    kinds: Sequence[str] = ("table", "figure"),
    skipped: list[str] | None = None,
) -> list[Path]:
    """Write the experiment's outputs of ``kinds`` under ``out``; the files written.
    An output without rows to make it from is left as it is and named in ``skipped``
    (an error when ``skipped`` is ``None``)."""
    import pandas as pd

    written: list[Path] = []
    frames: dict[str, Any] = {}
    for o in exp.outputs:
        if o.kind not in kinds:
            continue
        for g in o.grids:
            if g not in frames:
                frames[g] = results(exp, store, g)
        df = pd.concat([frames[g] for g in o.grids], ignore_index=True)
        where = f"{exp.path}: output {o.file}"
        if df.empty and skipped is not None:
            skipped.append(f"{where}: no rows")
            continue
        try:
            if o.kind == "table":
                path = out / o.file
                kind = exp.grid(o.grids[0]).kind
                table = table_frame(kind, df, dict(o.fields), exp.folder)
                write_table(path, table, o.fields.get("title", ""), o.fields.get("note", ""))
                written.append(path)
            else:
                fig = figure_of(df, dict(o.fields), exp.folder)
                written += save_figure(fig, out / o.file)
        except NoRows as exc:
            if skipped is None:
                raise InputError(f"{where}: {exc}") from None
            skipped.append(f"{where}: {exc}")
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
    for exp in exps:  # a typo in the last file stops the run before the first cell
        validate(exp)
    ex = make_executor(executor, jobs, address)
    entries: list[dict[str, Any]] = []
    try:
        for exp in exps:
            start = time.perf_counter()
            with open_store(None, exp) as store:
                report = run_experiment(exp, store, ex, progress=progress)
                skipped: list[str] = []
                written = make_outputs(exp, store, out, skipped=skipped)
            seconds = round(time.perf_counter() - start, 1)
            entries += [
                {"file": str(p.relative_to(out)), "experiment": exp.name, "seconds": seconds}
                for p in written
            ]
            if progress:
                failed = f", {report.failed} cell(s) failed" if report.failed else ""
                print(f"{exp.name}: {len(written)} file(s) in {out} ({seconds} s{failed})")
            for line in skipped:
                print(f"optsched: not written: {line}", file=sys.stderr)
    finally:
        ex.close()
    _write_manifest(out, files, quick)
    return entries


def write_manifest(folder: Path, out: Path, quick: bool = False) -> Path:
    """Write ``out/MANIFEST.md`` for the experiment files of ``folder``; its path."""
    files = sorted(folder.glob("*.toml"))
    if not files:
        raise InputError(f"{folder}: no experiment files (*.toml)")
    _write_manifest(out, files, quick)
    return out / MANIFEST


def manifest(files: Sequence[Path], quick: bool = False) -> list[dict[str, str]]:
    """Every output the experiment files declare: the file (PNG and PDF for a
    figure), its experiment and grids, and the command that makes it."""
    flag = " --quick" if quick else ""
    out = []
    for f in files:
        exp = read_experiment(f, quick=quick)
        for o in exp.outputs:
            names = [o.file]
            if o.kind == "figure":
                names = [str(Path(o.file).with_suffix(x)) for x in (".png", ".pdf")]
            for name in names:
                out.append(
                    {
                        "file": name,
                        "experiment": exp.name,
                        "grids": ", ".join(o.grids),
                        "source": f"experiments/{f.name}",
                        "command": f"optsched paper{flag} --only {exp.name}",
                    }
                )
    return sorted(out, key=lambda e: e["file"])


def _write_manifest(out: Path, files: Sequence[Path], quick: bool) -> None:
    from ..io import write_text

    lines = [
        "# Manifest",
        "",
        "Every table and figure here, the experiment file that declares it, and the "
        "command that regenerates it from scratch (it runs the experiment's missing "
        "cells into `results/NAME.sqlite`, then writes its outputs). `optsched paper` "
        "regenerates them all.",
        "",
        "| file | experiment | grids | command |",
        "| --- | --- | --- | --- |",
    ]
    for e in manifest(files, quick):
        lines.append(f"| `{e['file']}` | `{e['source']}` | {e['grids']} | `{e['command']}` |")
    write_text(out / MANIFEST, "\n".join(lines) + "\n")
