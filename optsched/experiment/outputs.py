"""An experiment's outputs: tables and figures made from one grid's rows.

``kind = "table"``
    A solve grid's gap table (:func:`optsched.bench.summary_table`, ``by``
    columns; ``compare`` names the column whose values are compared on common
    instances, default ``method``; ``times = true`` adds median and max time),
    or a simulate grid's means with 95% confidence intervals over seeds
    (:func:`sim_table`: ``by`` columns, ``values`` metrics). ``make =
    "module:function"`` builds the table instead (from the grid's rows, e.g. a
    call grid's); ``rows = true`` writes the grid's rows themselves. ``rename``
    maps column names; ``title`` and ``note`` head a Markdown file. The file's
    suffix picks the format: ``.md``, ``.tex`` or ``.csv``.
``kind = "figure"``
    ``plot`` names a function of :data:`optsched.bench.figures.PLOTS`; the file
    is written as PNG and PDF at single-column width.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import InputError


class NoRows(InputError):
    """An output whose grid has no finished rows that it can use (not run yet, or every
    cell failed, e.g. without ``$OPTSCHED_DATA``)."""


TABLE_SUFFIXES = (".md", ".tex", ".csv")
FIGURE_SUFFIXES = (".png", ".pdf")
#: What a simulate grid's table reports unless ``values`` says otherwise.
SIM_VALUES = ("avg_jct_s", "makespan_s")


def check_output(kind: str, file: str, fields: dict[str, Any], ctx: str) -> None:
    suffix = Path(file).suffix
    for key in ("by", "values"):
        v = fields.get(key)
        if v is not None and (
            not isinstance(v, list) or not v or not all(isinstance(x, str) for x in v)
        ):
            raise InputError(f"{ctx}: {key} must be a non-empty list of column names, got {v!r}")
    for key in ("where", "rename"):
        v = fields.get(key)
        if v is not None and not isinstance(v, dict):
            raise InputError(f"{ctx}: {key} must be a table of column = value, got {v!r}")
    for key in ("title", "note", "compare", "make"):
        v = fields.get(key)
        if v is not None and not isinstance(v, str):
            raise InputError(f"{ctx}: {key} must be a string, got {v!r}")
    for key in ("times", "rows"):
        v = fields.get(key, False)
        if not isinstance(v, bool):
            raise InputError(f"{ctx}: {key} must be true or false, got {v!r}")
    if kind == "table":
        if suffix not in TABLE_SUFFIXES:
            raise InputError(f"{ctx}: a table's file ends in .md, .tex or .csv, got {file!r}")
        if "plot" in fields:
            raise InputError(f"{ctx}: plot applies to figures only")
    else:
        from ..bench.figures import PLOTS

        if suffix not in FIGURE_SUFFIXES:
            raise InputError(f"{ctx}: a figure's file ends in .png or .pdf, got {file!r}")
        plot = fields.get("plot")
        if plot not in PLOTS:
            raise InputError(f"{ctx}: plot must be one of {', '.join(PLOTS)}, got {plot!r}")


def select(df: pd.DataFrame, where: dict[str, Any] | None) -> pd.DataFrame:
    """The rows whose columns equal ``where``'s values (a list: any of them)."""
    for col, value in (where or {}).items():
        if col not in df.columns:
            raise InputError(f"where: unknown column {col!r}")
        values = value if isinstance(value, list) else [value]
        df = df[df[col].isin(values)]
    return df


def sim_table(
    df: pd.DataFrame, by: Sequence[str], values: Sequence[str] = SIM_VALUES
) -> pd.DataFrame:
    """Per group of ``by``: runs, failed runs, and for each metric in ``values`` the
    mean over the group's finished runs and the half-width of its 95% confidence
    interval (Student's t over seeds). Times in hours where the metric is in s."""
    from ..bench.report import ci95_half_width

    missing = [c for c in [*by, *values] if c not in df.columns]
    if missing:
        raise InputError(f"table: unknown column {missing[0]!r} (known: {', '.join(df.columns)})")
    rows = []
    for key, part in df.groupby(list(by), sort=True):
        key = key if isinstance(key, tuple) else (key,)
        ok = part[part["status"] == "ok"]
        row: dict[str, Any] = {**dict(zip(by, key)), "runs": len(part)}
        row["failed"] = len(part) - len(ok)
        for v in values:
            x = pd.to_numeric(ok[v], errors="coerce").to_numpy(dtype=float)
            x = x[np.isfinite(x)]
            scale, name = (3600.0, v[:-2] + "_h") if v.endswith("_s") else (1.0, v)
            row[name] = float(x.mean()) / scale if x.size else math.nan
            row[f"{name}_ci95"] = ci95_half_width(x) / scale if x.size else math.nan
        rows.append(row)
    return pd.DataFrame(rows)


def table_frame(
    kind: str, df: pd.DataFrame, fields: dict[str, Any], folder: str = ""
) -> pd.DataFrame:
    """The table an output declares, from its grid's rows ``df``."""
    df = select(df, fields.get("where"))
    if kind == "call" and "cell_status" in df.columns:  # failed cells carry no numbers
        df = df[df["cell_status"] == "ok"]
    elif kind == "simulate" and "status" in df.columns:
        df = df[df["status"] == "ok"]
    if df.empty:
        raise NoRows("table: no finished rows (run the experiment; see its failed cells)")
    if fields.get("make"):
        table = _made(fields["make"], folder)(df)
        if not isinstance(table, pd.DataFrame):
            raise InputError(f"make {fields['make']!r} returned {type(table).__name__}")
    elif fields.get("rows"):
        table = df.drop(columns=[c for c in ROW_NOISE if c in df.columns])
    elif kind == "solve":
        table = solve_table(df, fields)
    else:
        table = sim_table(df, fields.get("by", ["policy"]), fields.get("values", list(SIM_VALUES)))
    return table.rename(columns=fields.get("rename", {}))


#: Columns of a cell that say how it ran, not what it found (left out of ``rows``).
ROW_NOISE = ("experiment", "kind", "cell_key", "folder", "versions", "python", "cpu_count")


def solve_table(df: pd.DataFrame, fields: dict[str, Any]) -> pd.DataFrame:
    """:func:`optsched.bench.summary_table` of solve rows, with median and max time
    per group when ``times``."""
    from ..bench.report import summary_table

    by = fields.get("by", ["family", "method"])
    compare = fields.get("compare", "method")
    table = summary_table(df, by, readable=True, compare=compare)
    if fields.get("times"):
        groups = df.groupby(by, sort=True)["time"]
        table["median time (s)"] = groups.median().to_numpy()
        table["max time (s)"] = groups.max().to_numpy()
    return table


def _made(target: str, folder: str) -> Any:
    from ..problems.record import load_plugin
    from .cells import _importable

    _importable(folder)
    return load_plugin("table", target, target)


def write_table(path: Path, table: pd.DataFrame, title: str = "", note: str = "") -> None:
    from ..bench.report import to_latex, to_markdown
    from ..io import write_text

    if path.suffix == ".csv":
        write_text(path, table.to_csv(index=False))
    elif path.suffix == ".tex":
        write_text(path, to_latex(table, floatfmt=".3g", caption=title or None))
    else:
        head = f"# {title}\n\n" if title else ""
        head += f"{note}\n\n" if note else ""
        write_text(path, head + to_markdown(table, floatfmt=".4g") + "\n")


#: Single-column width of a two-column paper, in inches, and its font size.
COLUMN_WIDTH = 3.4
FONT_SIZE = 8


def new_figure(panels: int = 1, height: float = 2.4) -> tuple[Any, list[Any]]:
    """A figure of ``panels`` stacked axes at single-column width, made without pyplot
    (no backend is touched)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(COLUMN_WIDTH, height * panels), layout="constrained")
    axes = fig.subplots(panels, 1, squeeze=False)[:, 0]
    return fig, list(axes)


def save_figure(fig: Any, path: Path) -> list[Path]:
    """``path`` as PNG and PDF (both suffixes), each written atomically."""
    import os
    import tempfile

    out = []
    path.parent.mkdir(parents=True, exist_ok=True)
    for suffix in FIGURE_SUFFIXES:
        target = path.with_suffix(suffix)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=suffix)
        os.close(fd)
        try:
            fig.savefig(tmp, dpi=300, format=suffix[1:])
            os.chmod(tmp, 0o666 & ~_umask())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        out.append(target)
    return out


def _umask() -> int:
    import os

    mask = os.umask(0)
    os.umask(mask)
    return mask


def font_context() -> Any:
    import matplotlib

    return matplotlib.rc_context(
        {
            "font.size": FONT_SIZE,
            "axes.titlesize": FONT_SIZE,
            "axes.labelsize": FONT_SIZE,
            "xtick.labelsize": FONT_SIZE - 1,
            "ytick.labelsize": FONT_SIZE - 1,
            "legend.fontsize": FONT_SIZE - 1,
            "pdf.fonttype": 42,  # TrueType in PDF: editable, accepted by publishers
        }
    )


def figure_of(df: pd.DataFrame, fields: dict[str, Any], folder: str = "") -> Any:
    """The figure an output names, drawn from ``df`` (``make``: a function of the rows
    that returns them in the form the plot takes)."""
    from ..bench.figures import PLOTS

    df = select(df, fields.get("where"))
    if df.empty:
        raise NoRows("figure: no rows (run the experiment first)")
    if fields.get("make"):
        df = _made(fields["make"], folder)(df)
    fn, panels_by = PLOTS[fields["plot"]]
    with font_context():
        if panels_by and panels_by in df.columns:
            groups = sorted(df[panels_by].dropna().unique())
            fig, axes = new_figure(len(groups), height=2.6)
            for ax, g in zip(axes, groups):
                fn(df[df[panels_by] == g], ax=ax)
                ax.set_title(str(g))
        else:
            fig, axes = new_figure(1)
            fn(df, ax=axes[0])
        if fields.get("title"):
            fig.suptitle(fields["title"])
    return fig
