"""Figures for papers: one public function per plot, each drawing on an optional ``ax``.

Nothing here calls ``show()`` or changes matplotlib's backend; callers save the
figure (``ax.figure.savefig``) or pass their own ``ax``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd


def _axes(ax: Any) -> Any:
    """``ax``, or the axes of a new figure made without pyplot: the user's backend (a
    notebook's inline one, say) is never changed, and ``ax.figure.savefig`` works."""
    if ax is not None:
        return ax
    from matplotlib.figure import Figure

    return Figure(figsize=(6, 3.5)).subplots()


def plot_gaps(results: pd.DataFrame, by: str = "method", ax: Any = None) -> Any:
    """Box plot of gaps (%) per ``by`` value from benchmark rows; finite gaps only."""
    ax = _axes(ax)
    groups = sorted(results[by].unique())
    data = [
        100 * results.loc[(results[by] == g) & np.isfinite(results["gap"]), "gap"].to_numpy()
        for g in groups
    ]
    ax.boxplot(data, showfliers=True)
    ax.set_xticks(range(1, len(groups) + 1), [str(g) for g in groups])
    ax.set_ylabel("gap to best bound (%)")
    ax.set_xlabel(by)
    ax.tick_params(axis="x", rotation=45)
    ax.grid(axis="y", alpha=0.3)
    return ax


def plot_throughput_validation(comparisons: pd.DataFrame, ax: Any = None) -> Any:
    """Predicted vs measured throughput (log-log), one colour per source and variant."""
    ax = _axes(ax)
    for (source, variant), part in comparisons.groupby(["source", "variant"]):
        ax.scatter(part["measured"], part["predicted"], s=6, alpha=0.5, label=f"{source} {variant}")
    lo = float(min(comparisons["measured"].min(), comparisons["predicted"].min()))
    hi = float(max(comparisons["measured"].max(), comparisons["predicted"].max()))
    ax.plot([lo, hi], [lo, hi], color="black", linewidth=0.8)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("measured throughput (it/s)")
    ax.set_ylabel("predicted throughput (it/s)")
    ax.legend(fontsize=7, markerscale=2)
    return ax


def plot_randomized_ratio(rows: pd.DataFrame, ax: Any = None) -> Any:
    """Cerebro Figure 6, exactly: makespan over the proven optimum per grid cell."""
    ax = _axes(ax)
    cells = list(dict.fromkeys(rows["cell"]))
    for k, method in enumerate(sorted(rows["method"].unique())):
        part = rows[rows["method"] == method]
        means = [part.loc[part["cell"] == c, "ratio"].mean() for c in cells]
        lo = [m - part.loc[part["cell"] == c, "ratio"].min() for m, c in zip(means, cells)]
        hi = [part.loc[part["cell"] == c, "ratio"].max() - m for m, c in zip(means, cells)]
        x = np.arange(len(cells)) + 0.35 * k
        ax.bar(x, means, width=0.35, yerr=[lo, hi], capsize=2, label=method)
    ax.axhline(1.0, color="black", linewidth=0.8)
    ax.set_xticks(np.arange(len(cells)) + 0.175)
    ax.set_xticklabels(cells, rotation=30, fontsize=8)
    ax.set_ylabel("makespan / optimum")
    ax.set_ylim(bottom=0.9)
    ax.legend(fontsize=8)
    return ax
