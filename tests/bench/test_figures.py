import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from optsched.bench.figures import (  # noqa: E402
    plot_gaps,
    plot_randomized_ratio,
    plot_throughput_validation,
)


def test_plots_draw_on_the_given_axes():
    fig, axes = plt.subplots(1, 3)
    gaps = pd.DataFrame({"method": ["a", "a", "b"], "gap": [0.0, 0.1, float("inf")]})
    assert plot_gaps(gaps, ax=axes[0]) is axes[0]
    assert axes[0].get_ylabel() == "gap to best bound (%)"
    comp = pd.DataFrame(
        {
            "source": ["gavel", "pollux"],
            "variant": ["x", "y"],
            "measured": [1.0, 2.0],
            "predicted": [1.1, 1.8],
        }
    )
    assert plot_throughput_validation(comp, ax=axes[1]) is axes[1]
    assert axes[1].get_xscale() == "log"
    rows = pd.DataFrame(
        {"cell": ["c1", "c1", "c2"], "method": ["r", "r", "r"], "ratio": [1.0, 1.2, 1.05]}
    )
    ax = plot_randomized_ratio(rows, ax=axes[2])
    assert [t.get_text() for t in ax.get_xticklabels()] == ["c1", "c2"]
    plt.close(fig)


def test_gap_plot_from_a_results_file():
    from optsched.bench import ROOT, frame, load_results

    df = frame(load_results(ROOT / "paper_figures" / "gaps" / "results.jsonl"))
    ax = plot_gaps(df[df["family"] == "hopper"])
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert labels == sorted(set(df.loc[df["family"] == "hopper", "method"]))
    plt.close(ax.figure)


def test_plots_leave_the_users_backend_alone(tmp_path):
    # in a fresh interpreter whose backend is svg (a notebook would have its inline
    # one): a plot without axes neither switches the backend nor needs pyplot
    import subprocess
    import sys

    code = (
        "import matplotlib, pandas as pd\n"
        "from optsched.bench.figures import plot_gaps\n"
        "ax = plot_gaps(pd.DataFrame({'method': ['a'], 'gap': [0.1]}))\n"
        f"ax.figure.savefig({str(tmp_path / 'g.png')!r})\n"
        "import sys\n"
        "print(matplotlib.get_backend(), 'matplotlib.pyplot' in sys.modules)\n"
    )
    env = {**__import__("os").environ, "MPLBACKEND": "svg"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["svg", "False"]
    assert (tmp_path / "g.png").stat().st_size > 0
