"""Tables and figures of experiments, ``optsched plot`` and ``optsched paper``: each plot
draws what its data says on the axes it is given, without pyplot's backend."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest
from matplotlib.figure import Figure

from optsched.bench import figures
from optsched.cli import main
from optsched.experiment.outputs import sim_table
from optsched.io import read_instance, read_solution
from optsched.simulate.engine import Event

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "instances" / "examples"


def axes():
    return Figure().subplots()


def test_gap_cdf_steps_to_the_share_solved():
    rows = pd.DataFrame(
        {"method": ["a", "a", "a", "a", "b"], "gap": [0.0, 0.01, 0.5, math.nan, 0.02]}
    )
    ax = figures.plot_gap_cdf(rows, ax=axes())
    a, b = ax.get_lines()
    # a: optimal (at the 1e-3 % floor), 1 %, 50 %, and one run without a solution
    assert list(a.get_xdata()) == [figures.GAP_FLOOR_PCT, figures.GAP_FLOOR_PCT, 1.0, 50.0]
    assert list(a.get_ydata()) == [0.0, 0.25, 0.5, 0.75]
    assert list(b.get_ydata()) == [0.0, 1.0]
    assert ax.get_xscale() == "log"


def test_jct_vs_load_bands_are_the_95_percent_intervals():
    rows = pd.DataFrame(
        {
            "policy": ["p"] * 4,
            "rate": [1.0, 1.0, 2.0, 2.0],
            "avg_jct_s": [3600.0, 7200.0, 7200.0, 7200.0],
            "status": ["ok"] * 4,
        }
    )
    ax = figures.plot_jct_vs_load(rows, ax=axes())
    (line,) = ax.get_lines()
    assert list(line.get_ydata()) == [1.5, 2.0]
    band = ax.collections[0].get_paths()[0].vertices
    # t(0.975, 1) * std([1, 2]) / sqrt(2) = 12.706 * 0.7071 / 1.4142 = 6.353 h
    assert band[:, 1].min() == pytest.approx(1.5 - 6.3531, abs=1e-3)


def test_sim_table_means_and_intervals_over_seeds():
    rows = pd.DataFrame(
        {
            "policy": ["p", "p", "q"],
            "avg_jct_s": [3600.0, 10800.0, 3600.0],
            "makespan_s": [7200.0, 7200.0, math.nan],
            "status": ["ok", "ok", "timeout"],
        }
    )
    t = sim_table(rows, ["policy"])
    p, q = t.to_dict(orient="records")
    assert (p["runs"], p["failed"], p["avg_jct_h"], p["makespan_h_ci95"]) == (2, 0, 2.0, 0.0)
    assert (q["runs"], q["failed"]) == (1, 1) and math.isnan(q["avg_jct_h"])


def test_utilisation_counts_a_shared_gpu_once():
    events = [
        Event(0.0, "start", "a", (0, 1)),
        Event(0.0, "start", "b", (1,)),
        Event(3600.0, "complete", "a"),
        Event(7200.0, "stop", "b"),
    ]
    t, busy = figures.busy_gpus(events)
    # a holds 2 GPUs, b shares one of them: still 2 in use, not 3
    assert list(busy) == [0, 2, 2, 1, 0] and list(t) == [0.0, 0.0, 0.0, 3600.0, 7200.0]
    ax = figures.plot_utilisation(events, 4, ax=axes())
    assert max(ax.get_lines()[0].get_ydata()) == 0.5


def test_gantt_bars_are_the_schedule():
    inst = read_instance(EXAMPLES / "cerebro_fig5.json")
    sol = read_solution(EXAMPLES / "cerebro_fig5.optimal.solution.json", inst)
    ax = figures.plot_gantt(inst, sol, ax=axes())
    spans = sorted((round(float(p.get_paths()[0].vertices[:, 0].min()), 6)) for p in ax.collections)
    units = [(sol.starts[i][j]) for i in range(len(sol.starts)) for j in range(len(sol.starts[i]))]
    assert spans == sorted(round(u, 6) for u in units)
    with pytest.raises(Exception, match="hopper, spase or timeslot"):
        figures.plot_gantt(
            read_instance(EXAMPLES / "placement_small.json"),
            read_solution(
                EXAMPLES / "placement_small.solution.json",
                read_instance(EXAMPLES / "placement_small.json"),
            ),
            ax=axes(),
        )


def test_gpu_map_colours_every_assigned_gpu():
    inst = read_instance(EXAMPLES / "placement_small.json")
    sol = read_solution(EXAMPLES / "placement_small.solution.json", inst)
    ax = figures.plot_gpu_map(inst, sol, ax=axes())
    grey = [p for p in ax.patches if p.get_facecolor()[:3] == pytest.approx((0.92,) * 3)]
    used = {g for gpus in sol.assignment.values() for g in gpus}
    assert len(grey) == inst.cluster.num_gpus - len(used)


def test_figures_leave_the_backend_and_pyplot_alone(tmp_path):
    """In a fresh process with a chosen backend, drawing and saving every kind of
    figure neither switches the backend nor imports pyplot."""
    import subprocess
    import sys

    script = f"""
import sys, matplotlib
matplotlib.use("svg")
from pathlib import Path
from optsched.bench import figures
from optsched.experiment.outputs import new_figure, save_figure
from optsched.io import read_instance, read_solution
ex = Path({str(EXAMPLES)!r})
for name, plot in [("cerebro_fig5", figures.plot_gantt), ("placement_small", figures.plot_gpu_map)]:
    inst = read_instance(ex / f"{{name}}.json")
    sols = sorted(ex.glob(f"{{name}}*.solution.json"))
    fig, (ax,) = new_figure()
    plot(inst, read_solution(sols[0], inst), ax=ax)
    save_figure(fig, Path({str(tmp_path)!r}) / f"{{name}}.png")
import pandas as pd
figures.plot_gap_cdf(pd.DataFrame({{"method": ["a"], "gap": [0.0]}}))  # its own figure
assert matplotlib.get_backend() == "svg", matplotlib.get_backend()
assert "matplotlib.pyplot" not in sys.modules
"""
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "placement_small.pdf").is_file()


def test_plot_commands_write_png_and_pdf(tmp_path, capsys):
    out = tmp_path / "g.png"
    args = [
        str(EXAMPLES / "cerebro_fig5.json"),
        str(EXAMPLES / "cerebro_fig5.optimal.solution.json"),
    ]
    assert main(["plot", "gantt", *args, "-o", str(out)]) == 0
    assert out.stat().st_size > 0 and out.with_suffix(".pdf").read_bytes()[:4] == b"%PDF"
    assert main(["plot", "gpu-map", *args, "-o", str(out)]) == 2
    assert "placement solutions, not hopper" in capsys.readouterr().err


def test_paper_writes_every_output_and_a_manifest(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    folder = tmp_path / "exps"
    folder.mkdir()
    (folder / "tiny.toml").write_text(
        f"""
[[grid]]
name = "exact"
kind = "solve"
instances = ["{EXAMPLES / "cerebro_fig5.json"}"]
methods = ["cpsat", "greedy"]
time_limit = 5

[[output]]
kind = "table"
file = "tiny/gaps.md"
[[output]]
kind = "table"
file = "tiny/gaps.tex"
[[output]]
kind = "figure"
plot = "gap_cdf"
file = "tiny/gap_cdf.png"
"""
    )
    out = tmp_path / "figs"
    assert main(["paper", "--experiments", str(folder), "-o", str(out), "-e", "serial"]) == 0
    table = (out / "tiny" / "gaps.md").read_text()
    assert "| hopper | CP-SAT | 1 | 1 | 0 | 1 |" in table
    assert (out / "tiny" / "gaps.tex").read_text().startswith("\\begin{table}")
    assert (out / "tiny" / "gap_cdf.pdf").is_file() and (out / "tiny" / "gap_cdf.png").is_file()
    manifest = (out / "MANIFEST.md").read_text()
    for name in ("tiny/gaps.md", "tiny/gaps.tex", "tiny/gap_cdf.png", "tiny/gap_cdf.pdf"):
        assert (
            f"| `{name}` | `experiments/tiny.toml` | exact | `optsched paper --only tiny` |"
            in manifest
        )
    assert (tmp_path / "results" / "tiny.sqlite").is_file()
    assert main(["paper", "--experiments", str(folder), "--only", "nope"]) == 2


def test_paper_checks_every_experiment_before_running_any(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    folder = tmp_path / "exps"
    folder.mkdir()
    body = f'[[grid]]\nkind = "solve"\ninstances = ["{EXAMPLES / "cerebro_fig5.json"}"]\n'
    out = '[[output]]\nkind = "table"\nfile = "t.md"\n'
    (folder / "a.toml").write_text(body + 'methods = ["greedy"]\n' + out)
    (folder / "b.toml").write_text('[[grid]]\nkind = "call"\nfunction = "no_such_module:f"\n' + out)
    assert main(["paper", "--experiments", str(folder), "-o", "figs", "-e", "serial"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"optsched: error: {folder / 'b.toml'}: grid grid1: function")
    assert "cannot import 'no_such_module'" in err and len(err.splitlines()) == 1
    assert not (tmp_path / "results").exists() and not (tmp_path / "figs").exists()


def test_the_shipped_experiments_are_valid():
    """Every experiment file reads, full and quick, and every function its call grids
    and outputs name exists."""
    from optsched.experiment import read_experiment
    from optsched.experiment.cells import _importable, validate
    from optsched.experiment.spec import KINDS
    from optsched.problems.record import load_plugin

    files = sorted((ROOT / "experiments").glob("*.toml"))
    assert any(f.name == "quick.toml" for f in files)
    for f in files:
        for quick in (False, True):
            exp = read_experiment(f, quick=quick)
            assert exp.grids and all(g.kind in KINDS for g in exp.grids)
            _importable(exp.folder)
            targets = [g["function"] for g in exp.grids if g.kind == "call"]
            targets += [o.fields["make"] for o in exp.outputs if "make" in o.fields]
            for target in targets:
                assert callable(load_plugin("function", target, target)), target
            validate(exp)  # its suites, methods and policies exist


def test_paper_quick_regenerates_the_quick_experiment(tmp_path, monkeypatch):
    """The shipped quick experiment, both kinds, through ``optsched paper --quick``: every
    output written, from rows the checkers passed."""
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "figs"
    argv = ["paper", "--quick", "--only", "quick", "-o", str(out), "-j", "2"]
    assert main([*argv, "--experiments", str(ROOT / "experiments")]) == 0
    for name in ("gaps.md", "gap_cdf.png", "gap_cdf.pdf", "load.md", "jct_vs_load.png"):
        assert (out / "quick" / name).stat().st_size > 0, name
    gaps = (out / "quick" / "gaps.md").read_text()
    assert "| hopper | CP-SAT | 7 | 7 | 0 | 7 |" in gaps  # every small hopper instance proven
    load = (out / "quick" / "load.md").read_text()
    assert "| fifo | 0.1 | 2 | 0 |" in load and "| max_min_fairness | 0.3 | 2 | 0 |" in load
