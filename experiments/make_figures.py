"""Regenerate the figures in ``paper_figures/`` from the benchmark outputs.

Run from the repository root after the benchmarks::

    python experiments/make_figures.py
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import pandas as pd  # noqa: E402

from optsched.bench.figures import (  # noqa: E402
    plot_randomized_ratio,
    plot_throughput_validation,
)
from optsched.throughput.validate import comparisons  # noqa: E402

OUT = Path(__file__).resolve().parent.parent / "paper_figures"


def main() -> None:
    rows = pd.DataFrame(comparisons())
    # throughputs only: the co-location checks compare interference factors
    ax = plot_throughput_validation(rows[rows["source"] != "gavel-pairs"])
    ax.figure.tight_layout()
    ax.figure.savefig(OUT / "throughput_validation.png", dpi=150)
    fig6 = OUT / "baselines" / "cerebro_fig6_randomized.csv"
    if fig6.exists():
        runs = pd.read_csv(fig6)
        if "order" in runs:  # the randomized method's own protocol: index order
            runs = runs[runs["order"].isin(["-", "index"])]
        ax = plot_randomized_ratio(runs)
        ax.figure.tight_layout()
        ax.figure.savefig(OUT / "cerebro_fig6_exact.png", dpi=150)
    results = OUT / "gaps" / "results.jsonl"
    if results.exists():
        from optsched.bench import frame, load_results
        from optsched.experiment.outputs import figure_of, save_figure

        # one panel per family: methods of different families do not compare
        fig = figure_of(frame(load_results(results)), {"plot": "gap_cdf"})
        save_figure(fig, OUT / "gaps" / "gap_cdf.png")
    print(f"figures written to {OUT}")


if __name__ == "__main__":
    main()
