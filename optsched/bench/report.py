"""Tables for papers: pandas frames rendered to Markdown and booktabs LaTeX."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import InputError


def _cell(value: Any, floatfmt: str) -> str:
    if isinstance(value, float):
        if math.isnan(value):
            return "-"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return format(value, floatfmt)
    return str(value)


def to_markdown(df: pd.DataFrame, floatfmt: str = ".4g") -> str:
    """GitHub-flavoured Markdown table; numbers right-aligned."""
    cols = [str(c) for c in df.columns]
    rows = [[_cell(v, floatfmt) for v in row] for row in df.itertuples(index=False)]
    numeric = [pd.api.types.is_numeric_dtype(df[c]) for c in df.columns]
    head = "| " + " | ".join(cols) + " |"
    rule = "| " + " | ".join("---:" if n else "---" for n in numeric) + " |"
    body = ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join([head, rule, *body])


_LATEX_ESCAPES = {
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}


def _tex(text: str) -> str:
    return "".join(_LATEX_ESCAPES.get(ch, ch) for ch in text)


def to_latex(
    df: pd.DataFrame, floatfmt: str = ".4g", caption: str | None = None, label: str | None = None
) -> str:
    """A booktabs table (``\\toprule``, ``\\midrule``, ``\\bottomrule``)."""
    numeric = [pd.api.types.is_numeric_dtype(df[c]) for c in df.columns]
    spec = "".join("r" if n else "l" for n in numeric)
    lines = [r"\begin{table}[t]", r"\centering"]
    if caption:
        lines.append(rf"\caption{{{_tex(caption)}}}")
    if label:
        lines.append(rf"\label{{{label}}}")
    lines += [
        rf"\begin{{tabular}}{{{spec}}}",
        r"\toprule",
        " & ".join(_tex(str(c)) for c in df.columns) + r" \\",
        r"\midrule",
    ]
    for row in df.itertuples(index=False):
        lines.append(" & ".join(_tex(_cell(v, floatfmt)) for v in row) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}", r"\end{table}"]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- gap tables
#: Column names of :func:`summary_table`, with their units.
COLUMNS = {
    "runs": "runs",
    "solved": "solved",
    "unsolved": "unsolved",
    "optimal": "proven optimal",
    "common": "common instances",
    "mean_gap": "mean gap, common (%)",
    "geomean_gap": "geo. mean gap, common (%)",
    "max_gap": "max gap, common (%)",
    "mean_time": "mean time (s)",
    "seeds": "seeds",
    "mean_gap_all": "mean gap, all runs (%)",
    "ci95_all": "95% CI, all runs (%)",
}


def summary_table(
    df: pd.DataFrame,
    by: Sequence[str] = ("family", "method"),
    *,
    readable: bool = False,
    compare: str = "method",
) -> pd.DataFrame:
    """Gaps per group, compared on common instances, with unsolved counts beside them.

    A mean over each method's solved runs alone misranks methods: one that
    fails on the hard instances looks better than one that solves them with a
    gap. So when ``by`` includes ``method``, the gap statistics of a group are
    taken over the *common* runs only: the (instance, seed) pairs of the
    comparison group (the other ``by`` columns) on which every method of
    that group has a finite gap (methods that solved none of them are left
    out of that rule: they would empty it). ``solved`` counts runs with a
    checked solution, ``unsolved`` the rest (no solution, refused, or an error).

    A group that ran several seeds on an instance (a randomised method) also
    gets its mean gap over all its solved runs, with a 95% confidence interval
    (Student's t over the runs: the mean over these instances), since its
    common-instance gap is a sample of one seed per instance.

    ``readable=True`` gives headers with units and each method's display name.
    ``compare`` names the column whose values are compared (``method``, or an
    experiment's own, such as ``backend``).
    """
    missing = [c for c in by if c not in df.columns]
    if missing:
        raise InputError(
            f"table: unknown column {missing[0]!r} in --by (known: {', '.join(df.columns)})"
        )
    if not by:
        raise InputError("table: --by needs at least one column")
    df = df.copy()
    suites = df["suite"] if "suite" in df else [""] * len(df)
    seeds = df["seed"] if "seed" in df else [0] * len(df)
    df["_case"] = list(zip(suites, df["instance"], seeds))
    df["_case_instance"] = list(zip(suites, df["instance"]))
    # a run counts only with a checked solution the front door accepted
    df["_finite"] = np.isfinite(df["gap"].to_numpy(dtype=float)) & df["status"].isin(
        ("optimal", "feasible")
    )
    df["_common"] = df["_finite"]
    if compare in by:
        outer = [c for c in by if c != compare]
        groups = df.groupby(outer, sort=False) if outer else [((), df)]
        for _, part in groups:
            # a method without a single solved run has nothing to compare: it shows
            # in its unsolved count and does not empty the others' common set
            methods = set(part.loc[part["_finite"], compare])
            ok = part[part["_finite"]].groupby("_case")[compare].agg(set)
            common = {case for case, got in ok.items() if got >= methods}
            df.loc[part.index, "_common"] = part["_case"].isin(common) & part["_finite"]
    rows = []
    for key, part in df.groupby(list(by), sort=True):
        key = key if isinstance(key, tuple) else (key,)
        solved = part["status"].isin(("optimal", "feasible"))
        if "feasible" in part:
            solved &= part["feasible"].eq(True)
        gaps = 100 * part.loc[part["_common"], "gap"].to_numpy(dtype=float)
        labels = dict(zip(by, key))
        if readable and "method" in labels and "family" in part:
            labels["method"] = display_name(str(part["family"].iloc[0]), str(labels["method"]))
        rows.append(
            {
                **labels,
                "runs": len(part),
                "solved": int(solved.sum()),
                "unsolved": int(len(part) - solved.sum()),
                "optimal": int((part["status"] == "optimal").sum()),
                "common": len(gaps),
                "mean_gap": float(gaps.mean()) if gaps.size else math.nan,
                "geomean_gap": _geomean_pct(gaps),
                "max_gap": float(gaps.max()) if gaps.size else math.nan,
                "mean_time": float(part["time"].mean()),
                **_all_seeds(part),
            }
        )
    out = pd.DataFrame(rows)
    if "seeds" in out and out["seeds"].max() <= 1:
        out = out.drop(columns=["seeds", "mean_gap_all", "ci95_all"])
    if readable:
        out = out.rename(columns=COLUMNS)
    return out


def _all_seeds(part: pd.DataFrame) -> dict[str, Any]:
    """Seeds per instance, and with several, the mean gap over all solved runs and its
    95% confidence interval."""
    seeds = int(part.groupby("_case_instance")["seed"].nunique().max()) if "seed" in part else 1
    if seeds <= 1:
        return {"seeds": seeds, "mean_gap_all": math.nan, "ci95_all": "-"}
    gaps = 100 * part.loc[part["_finite"], "gap"].to_numpy(dtype=float)
    if gaps.size < 2:
        return {"seeds": seeds, "mean_gap_all": math.nan, "ci95_all": "-"}
    mean = float(gaps.mean())
    half = ci95_half_width(gaps)
    return {
        "seeds": seeds,
        "mean_gap_all": mean,
        "ci95_all": f"{max(0.0, mean - half):.3g} to {mean + half:.3g}",
    }


def ci95_half_width(sample: Any) -> float:
    """Half the width of the 95% confidence interval of ``sample``'s mean (Student's t);
    0 for fewer than two values."""
    from scipy import stats

    values = np.asarray(sample, dtype=float)
    if values.size < 2:
        return 0.0
    return float(stats.t.ppf(0.975, values.size - 1) * values.std(ddof=1) / np.sqrt(values.size))


def _geomean_pct(gaps_pct: np.ndarray) -> float:
    """Geometric mean of ``1 + gap``, minus 1, in percent."""
    if not gaps_pct.size:
        return math.nan
    ratios = np.maximum(1 + gaps_pct / 100, 1e-6)
    return float(100 * (np.exp(np.log(ratios).mean()) - 1))


def display_name(family: str, method: str) -> str:
    """A method's display name (its name when it has none or is unknown)."""
    from ..problems import FAMILIES

    fam = FAMILIES.get(family)
    spec = fam.method(method) if fam is not None else None
    return spec.display if spec is not None else method


def save_table(folder: Path, name: str, df: pd.DataFrame, note: str, floatfmt: str = ".4g") -> str:
    """``name.csv`` and ``name.md`` (a heading, ``note`` and the table) in ``folder``;
    returns the markdown, as benchmark scripts print it."""
    folder.mkdir(parents=True, exist_ok=True)
    df.to_csv(folder / f"{name}.csv", index=False)
    text = f"# {name}\n\n{note}\n\n{to_markdown(df, floatfmt=floatfmt)}\n"
    (folder / f"{name}.md").write_text(text)
    return text
