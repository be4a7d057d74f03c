"""Figures for papers: one public function per plot, each drawing on an optional ``ax``.

Nothing here calls ``show()`` or changes matplotlib's backend; callers save the
figure (``ax.figure.savefig``) or pass their own ``ax``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..errors import InputError


def _axes(ax: Any) -> Any:
    """``ax``, or the axes of a new figure made without pyplot: the user's backend (a
    notebook's inline one, say) is never changed, and ``ax.figure.savefig`` works."""
    if ax is not None:
        return ax
    from matplotlib.figure import Figure

    return Figure(figsize=(6, 3.5)).subplots()


def plot_gaps(results: pd.DataFrame, by: str = "method", ax: Any = None) -> Any:
    """Box plot of gaps (%) per ``by`` value from benchmark rows; finite gaps only.
    Pools whatever ``results`` holds: pass one family's rows (:func:`plot_gap_cdf`
    compares methods within a family on a log axis)."""
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


# ------------------------------------------------------------------ experiment rows

#: Gaps at or below this (a proven optimum's rounding) sit at the CDF's left end.
GAP_FLOOR_PCT = 1e-3


def plot_gap_cdf(rows: pd.DataFrame, ax: Any = None, by: str = "method") -> Any:
    """Empirical CDF of the gap to the best bound (%), one line per ``by`` value, on a
    log axis: pass one family's rows (methods of different families do not compare).
    Gaps of at most :data:`GAP_FLOOR_PCT` % (optimal) are drawn at that floor; runs
    without a solution never reach 1, so the line's end shows the share solved."""
    ax = _axes(ax)
    names = sorted(rows[by].unique())
    colours = _colours(len(names))
    for k, name in enumerate(names):
        part = rows[rows[by] == name]
        gaps = 100 * pd.to_numeric(part["gap"], errors="coerce").to_numpy(dtype=float)
        gaps = np.sort(np.maximum(gaps[np.isfinite(gaps)], GAP_FLOOR_PCT))
        share = np.arange(1, gaps.size + 1) / len(part)
        ax.step(
            np.concatenate([[GAP_FLOOR_PCT], gaps]),
            np.concatenate([[0.0], share]),
            where="post",
            label=str(name),
            color=colours[k],
            linestyle=("-", "--", ":")[k // 10 % 3],
            linewidth=1.0,
        )
    ax.set_xscale("log")
    ax.set_xlabel("gap to best bound (%)")
    ax.set_ylabel("share of runs")
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    # below the axes: at single-column width a legend inside hides the lines
    ax.legend(ncols=3, frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.32))
    return ax


def plot_runtime(rows: pd.DataFrame, ax: Any = None, x: str = "size", by: str = "method") -> Any:
    """Median wall time (s) against instance ``x`` (log-log), one line per ``by``
    value, with the min-max range over the runs at each size shaded."""
    ax = _axes(ax)
    for name in sorted(rows[by].unique()):
        part = rows[rows[by] == name]
        g = part.groupby(x)["time"]
        xs = np.asarray(g.median().index, dtype=float)
        (line,) = ax.plot(xs, g.median().to_numpy(), marker="o", markersize=3, label=str(name))
        ax.fill_between(
            xs, g.min().to_numpy(), g.max().to_numpy(), alpha=0.2, color=line.get_color()
        )
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(x)
    ax.set_ylabel("wall time (s)")
    ax.grid(alpha=0.3)
    ax.legend(frameon=False)
    return ax


def plot_jct_vs_load(
    rows: pd.DataFrame,
    ax: Any = None,
    x: str = "rate",
    y: str = "avg_jct_s",
    by: str = "policy",
) -> Any:
    """Mean of ``y`` (hours, for a metric in seconds) against ``x`` (arrivals per
    hour), one line per ``by`` value, with its 95% confidence band over seeds
    (Student's t). Runs that did not finish are left out."""
    from .report import ci95_half_width

    ax = _axes(ax)
    ok = rows[rows["status"] == "ok"] if "status" in rows else rows
    scale = 3600.0 if y.endswith("_s") else 1.0
    for name in sorted(ok[by].unique()):
        part = ok[ok[by] == name]
        xs, means, halves = [], [], []
        for xv, at in sorted(part.groupby(x), key=lambda kv: float(kv[0])):
            vals = pd.to_numeric(at[y], errors="coerce").to_numpy(dtype=float) / scale
            vals = vals[np.isfinite(vals)]
            if vals.size:
                xs.append(float(xv))
                means.append(float(vals.mean()))
                halves.append(ci95_half_width(vals))
        m, h = np.array(means), np.array(halves)
        (line,) = ax.plot(xs, m, marker="o", markersize=3, label=str(name))
        ax.fill_between(xs, m - h, m + h, alpha=0.2, color=line.get_color())
    ax.set_xlabel("arrivals per hour" if x == "rate" else x)
    names = {"avg_jct_s": "average JCT", "makespan_s": "makespan", "p99_jct_s": "p99 JCT"}
    ax.set_ylabel(f"{names.get(y, y[:-2].replace('_', ' '))} (h)" if scale > 1 else y)
    ax.grid(alpha=0.3)
    ax.legend(frameon=False)
    return ax


#: Plots of experiment rows by name: (function, column whose values get a panel each).
PLOTS: dict[str, tuple[Any, str | None]] = {
    "gap_cdf": (plot_gap_cdf, "family"),
    "runtime": (plot_runtime, "family"),
    "jct_vs_load": (plot_jct_vs_load, None),
    "gaps": (plot_gaps, "family"),
    "randomized_ratio": (plot_randomized_ratio, None),
    "throughput_validation": (plot_throughput_validation, None),
}


# ------------------------------------------------------------------ one schedule


def busy_gpus(events: Any, num_gpus: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(times, GPUs held) as a step function from a simulated timeline's events: a GPU
    shared by two jobs counts once."""
    holders: dict[int, int] = {}
    held: dict[str, tuple[int, ...]] = {}
    times, busy = [0.0], [0]
    for e in sorted(events, key=lambda e: e.time):
        if e.kind == "start":
            held[e.job] = tuple(e.gpus)
            for g in e.gpus:
                holders[g] = holders.get(g, 0) + 1
        elif e.kind in ("stop", "complete") and e.job in held:
            for g in held.pop(e.job):
                holders[g] -= 1
                if not holders[g]:
                    del holders[g]
        else:
            continue
        times.append(float(e.time))
        busy.append(len(holders))
    return np.array(times), np.array(busy)


def plot_utilisation(events: Any, num_gpus: int, ax: Any = None, label: str = "") -> Any:
    """Share of the cluster's GPUs held over time (hours) by a simulated timeline."""
    ax = _axes(ax)
    t, busy = busy_gpus(events)
    ax.step(t / 3600, busy / num_gpus, where="post", linewidth=0.8, label=label or None)
    ax.set_xlabel("time (h)")
    ax.set_ylabel("GPUs in use (share)")
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    if label:
        ax.legend(frameon=False)
    return ax


def _bars(instance: Any, solution: Any) -> tuple[list[tuple[int, float, float, str]], str]:
    """(lane, start, length, label) per piece of a schedule, and the lanes' name."""
    fam = instance.family
    bars: list[tuple[int, float, float, str]] = []
    if fam == "hopper":
        for i, row in enumerate(solution.starts):
            for j, start in enumerate(row):
                w = solution.workers[i][j] if solution.workers is not None else j
                bars.append((w, start, instance.times[i][j], instance.configs[i]))
        return bars, "worker"
    if fam == "spase":
        for task in instance.tasks:
            plan = solution.plans[task.id]
            length = task.configs[plan.config].runtime
            for g in plan.gpus:
                bars.append((g, plan.start, length, task.id))
        return bars, "GPU"
    if fam == "timeslot":
        s = instance.slot_seconds
        lanes = {j.id: k for k, j in enumerate(instance.jobs)}
        by_gpu = all(r.gpus is not None for r in solution.runs)
        for r in solution.runs:
            if by_gpu:
                for g in r.gpus:
                    bars.append((g, r.slot * s, s, r.job))
            else:
                bars.append((lanes[r.job], r.slot * s, s, r.job))
        return bars, "GPU" if by_gpu else "job"
    raise InputError(f"a Gantt chart draws hopper, spase or timeslot schedules, not {fam}")


def plot_gantt(instance: Any, solution: Any, ax: Any = None) -> Any:
    """A schedule as bars per worker or GPU (hopper, spase, timeslot), one colour per
    config, task or job; time in the instance's unit (s for timeslot)."""
    ax = _axes(ax)
    bars, lane = _bars(instance, solution)
    names = sorted({b[3] for b in bars})
    colours = _colours(len(names))
    colour = dict(zip(names, colours))
    for k, start, length, name in bars:
        ax.broken_barh(
            [(start, length)],
            (k - 0.4, 0.8),
            facecolors=colour[name],
            edgecolor="white",
            linewidth=0.3,
        )
    lanes = sorted({b[0] for b in bars})
    if len(lanes) <= 16:
        ax.set_yticks(lanes)
    ax.set_ylabel(lane)
    ax.set_xlabel("time")
    ax.invert_yaxis()
    _legend_below(ax, colour, names, ncols=3, below=0.25)
    return ax


def _legend_below(
    ax: Any, colour: dict[str, Any], names: list[str], ncols: int, below: float
) -> None:
    """A legend of coloured patches under the axes (at single-column width one inside
    hides the data); none past 12 entries, where colours repeat."""
    if len(names) > 12:
        return
    from matplotlib.patches import Patch

    ax.legend(
        handles=[Patch(color=colour[n], label=n) for n in names],
        ncols=ncols,
        frameon=False,
        loc="upper center",
        bbox_to_anchor=(0.5, -below),
    )


def _colours(n: int) -> list[Any]:
    from matplotlib import colormaps

    cmap = colormaps["tab10"]
    return [cmap(k % 10) for k in range(n)]


def plot_gpu_map(instance: Any, solution: Any, ax: Any = None) -> Any:
    """A placement on its cluster: one row of cells per server (its GPUs), racks
    separated by a line, one colour per job; a GPU shared by two jobs is split
    between their colours and outlined."""
    from matplotlib.patches import Rectangle

    if instance.family != "placement":
        raise InputError(f"a GPU map draws placement solutions, not {instance.family}")
    ax = _axes(ax)
    cluster = instance.cluster
    first = cluster.first_gpu
    on: dict[int, list[str]] = {}
    for job, gpus in solution.assignment.items():
        for g in gpus:
            on.setdefault(g, []).append(job)
    jobs = sorted(solution.assignment)
    colour = dict(zip(jobs, _colours(len(jobs))))
    racks = cluster.server2rack
    for s in range(len(cluster.servers)):
        for k in range(len(cluster.server_gpus(s))):
            g = first[s] + k
            holders = on.get(g, [])
            if not holders:
                ax.add_patch(Rectangle((k, s), 0.9, 0.9, facecolor="0.92", edgecolor="0.8", lw=0.3))
            for h, job in enumerate(holders):
                part = 0.9 / len(holders)
                ax.add_patch(Rectangle((k, s + h * part), 0.9, part, facecolor=colour[job], lw=0))
            if len(holders) > 1:
                ax.add_patch(Rectangle((k, s), 0.9, 0.9, fill=False, edgecolor="black", lw=0.8))
        if s and racks[s] != racks[s - 1]:
            ax.axhline(s - 0.05, color="black", linewidth=0.6)
    width = max(len(cluster.server_gpus(s)) for s in range(len(cluster.servers)))
    ax.set_xlim(-0.1, width)
    ax.set_ylim(len(cluster.servers), -0.1)
    ax.set_xlabel("GPU in server")
    ax.set_ylabel("server")
    ax.set_aspect("equal")
    _legend_below(ax, colour, jobs, ncols=4, below=0.15)
    return ax
