"""Experiment files, the store and the executors: grids expand as declared, keys follow
exactly what decides a result, reruns skip finished cells, kills and concurrent runs
lose and duplicate nothing, and failures are rows."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from optsched.cli import main
from optsched.errors import InputError
from optsched.experiment import (
    Store,
    make_executor,
    read_experiment,
    results,
    run_experiment,
)
from optsched.experiment.cells import Resolver, expand
from optsched.experiment.executors import Job
from optsched.experiment.spec import experiment_from_dict

ROOT = Path(__file__).resolve().parents[2]
FIG5 = str(ROOT / "instances" / "examples" / "cerebro_fig5.json")

SOLVE = f"""
[[grid]]
name = "exact"
kind = "solve"
instances = ["{FIG5}"]
methods = ["cpsat", "greedy"]
seeds = [0, 1]
time_limit = 5
"""

SIMULATE = """
[[grid]]
name = "load"
kind = "simulate"
workload = "gavel-generated"
jobs = 8
rate = [0.5, 1.0]
cluster = "gavel:1:1:1"
policies = ["fifo"]
seeds = [0]
semantics = "gavel"
"""


def write(tmp_path: Path, text: str, name: str = "exp") -> Path:
    path = tmp_path / f"{name}.toml"
    path.write_text(f'name = "{name}"\n' + text)
    return path


def run(path: Path, store: Path, executor: str = "serial", **kw):
    exp = read_experiment(path)
    with Store(store) as st:
        report = run_experiment(exp, st, make_executor(executor, 2), progress=False, **kw)
        return report, results(exp, st)


# --- the file format ------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "needs at least one [[grid]] table"),
        ('[[grid]]\nkind = "solve2"', "kind must be one of solve, simulate, call, got 'solve2'"),
        (
            '[[grid]]\nkind = "solve"\nsuites = ["hopper-small"]\nmethods = ["greedy"]\n'
            "time_limit = -1",
            "time_limit must be a number of seconds > 0, got -1",
        ),
        (
            '[[grid]]\nkind = "solve"\nsuites = ["hopper-small"]\nmethod = ["greedy"]',
            "unknown key 'method' for a solve grid",
        ),
        ('[[grid]]\nkind = "solve"\nmethods = ["greedy"]', "needs suites, instances or generate"),
        (
            '[[grid]]\nkind = "simulate"\nworkload = "philly"\nrate = 1.0\npolicies = ["fifo"]',
            "rate and jobs apply to workload gavel-generated only",
        ),
        (
            '[[grid]]\nkind = "simulate"\nworkload = "gavel-generated"\njobs = 5\n'
            'rate = [1, 0]\npolicies = ["fifo"]',
            "rate must be arrivals per hour > 0, got [1, 0]",
        ),
        (
            SIMULATE + '[[output]]\nkind = "figure"\nplot = "pie"\nfile = "a.png"',
            "plot must be one of",
        ),
        (SIMULATE + '[[output]]\nkind = "table"\nfile = "a.txt"', "ends in .md, .tex or .csv"),
        (
            '[[grid]]\nkind = "simulate"\nworkload = "philly"\npolicies = ["fifo"]\n'
            'rule = ["consolidated", "tightest"]',
            "rule must be one of consolidated, best_fit, first_fit, scattered, got 'tightest'",
        ),
        (
            '[[grid]]\nkind = "simulate"\nworkload = "philly"\npolicies = ["fifo"]\n'
            "workers = [1, 2]",
            "workers must be one integer here (solve grids sweep it), got [1, 2]",
        ),
    ],
)
def test_bad_experiment_files_name_the_field(tmp_path, text, message):
    path = write(tmp_path, text)
    with pytest.raises(InputError) as info:
        read_experiment(path)
    assert message in str(info.value)
    assert str(info.value).startswith(f"{path}: ")


def test_bad_experiment_is_exit_2_one_line_nothing_written(tmp_path, capsys):
    path = write(tmp_path, '[[grid]]\nkind = "solve"\nsuites = ["nope"]\nmethods = ["greedy"]')
    store = tmp_path / "r.sqlite"
    assert main(["run", str(path), "--store", str(store), "-e", "serial"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["optsched: error: suite 'nope' not found (a folder, or a name under instances/)"]
    assert not store.exists()
    assert main(["run", str(tmp_path / "missing.toml")]) == 2
    assert "no such experiment file" in capsys.readouterr().err


def test_grids_expand_to_every_combination():
    exp = experiment_from_dict(
        {
            "grid": [
                {
                    "kind": "solve",
                    "instances": [FIG5],
                    "methods": ["milp", "greedy", "randomized"],
                    "options": {"milp": {"solver": ["cbc", "highs"]}},
                    "seeds": [0, 1],
                    "random_seeds": 3,
                },
                {
                    "kind": "simulate",
                    "workload": "gavel-generated",
                    "jobs": 4,
                    "rate": [1.0, 2.0],
                    "cluster": ["gavel:1:1:1", "gavel:2:2:2"],
                    "policies": ["fifo", "max_min_fairness"],
                    "seeds": [0, 1, 2],
                },
            ]
        },
        "test",
    )
    tasks = expand(exp, Resolver())
    solve = [t for t in tasks if t.kind == "solve"]
    # milp: 2 solvers x 2 seeds; greedy: 2 seeds; randomized: 3 random seeds
    assert len(solve) == 4 + 2 + 3
    assert sorted({t.spec["options"].get("solver", "-") for t in solve}) == ["-", "cbc", "highs"]
    assert sorted(t.spec["seed"] for t in solve if t.spec["method"] == "randomized") == [0, 1, 2]
    # 2 rates x 2 clusters x 2 policies x 3 seeds
    assert len([t for t in tasks if t.kind == "simulate"]) == 24
    assert len({t.key for t in tasks}) == len(tasks)


def test_time_limits_and_workers_are_swept_and_a_cell_asks_for_its_workers():
    exp = experiment_from_dict(
        {
            "grid": [
                {
                    "kind": "solve",
                    "instances": [FIG5],
                    "methods": ["cpsat"],
                    "time_limit": [1, 2, 5],
                    "workers": [1, 2],
                }
            ]
        },
        "test",
    )
    tasks = expand(exp, Resolver())
    got = sorted((t.spec["time_limit"], t.spec["workers"], t.cpus) for t in tasks)
    assert got == [(lim, w, w) for lim in (1.0, 2.0, 5.0) for w in (1, 2)]


def test_quick_overrides_apply_only_when_asked(tmp_path):
    path = write(tmp_path, SOLVE + "[grid.quick]\nseeds = [0]\ntime_limit = 1\n")
    full, quick = read_experiment(path), read_experiment(path, quick=True)
    assert full.grids[0]["seeds"] == [0, 1] and full.grids[0]["time_limit"] == 5.0
    assert quick.grids[0]["seeds"] == [0] and quick.grids[0]["time_limit"] == 1.0


# --- keys: exactly what decides a result ---------------------------------------------


def keys(path: Path) -> dict[tuple, str]:
    exp = read_experiment(path)
    return {
        (
            t.grid,
            t.spec.get("method", t.spec.get("policy")),
            t.spec["seed"],
            t.spec.get("rate"),
        ): t.key
        for t in expand(exp, Resolver())
    }


def test_a_changed_time_limit_or_param_changes_exactly_the_affected_keys(tmp_path):
    base = keys(write(tmp_path, SOLVE + SIMULATE, "a"))
    slower = keys(
        write(tmp_path, SOLVE.replace("time_limit = 5", "time_limit = 6") + SIMULATE, "b")
    )
    changed = {k for k in base if base[k] != slower[k]}
    assert changed == {k for k in base if k[0] == "exact"}  # the solve cells only
    params = SOLVE + "[grid.params.cpsat]\nlinearization_level = 2\n"
    tuned = keys(write(tmp_path, params + SIMULATE, "c"))
    assert {k for k in base if base[k] != tuned[k]} == {
        ("exact", "cpsat", 0, None),
        ("exact", "cpsat", 1, None),
    }
    other_rate = keys(write(tmp_path, SOLVE + SIMULATE.replace("[0.5, 1.0]", "[0.5, 2.0]"), "d"))
    assert base[("load", "fifo", 0, 0.5)] == other_rate[("load", "fifo", 0, 0.5)]
    assert ("load", "fifo", 0, 2.0) in other_rate and ("load", "fifo", 0, 1.0) not in other_rate


PLUGIN = """
import time
from optsched.solve import solve

def mine(instance, options):
    return solve(instance, "greedy").solution

def slow(instance, options):
    time.sleep(30)

def paced(instance, options):
    time.sleep(0.3)  # long enough to be killed between cells
    return solve(instance, "greedy").solution

def broken(instance, options):
    raise RuntimeError("boom")
"""


@pytest.fixture
def plugin(tmp_path, monkeypatch):
    folder = tmp_path / "plug"
    folder.mkdir()
    (folder / "exp_plugin.py").write_text(PLUGIN)
    monkeypatch.syspath_prepend(str(folder))
    return folder / "exp_plugin.py"


def test_an_edited_plugin_reruns_its_cells_only(tmp_path, plugin):
    text = SOLVE.replace('["cpsat", "greedy"]', '["greedy", "exp_plugin:mine"]')
    path = write(tmp_path, text)
    store = tmp_path / "r.sqlite"
    report, df = run(path, store)
    assert (report.ran, report.done_before) == (4, 0)
    assert set(df["status"]) <= {"optimal", "feasible"}
    plugin.write_text(PLUGIN + "\n# edited\n")
    report, df = run(path, store)
    assert (report.ran, report.done_before) == (2, 2)  # the plug-in's 2 seeds
    report, _ = run(path, store)
    assert (report.ran, report.done_before) == (0, 4)


def test_an_edited_helper_of_a_plugin_reruns_its_cells(tmp_path, plugin):
    helper = plugin.parent / "exp_helper.py"
    helper.write_text("METHOD = 'greedy'\n")
    helped = plugin.parent / "exp_helped.py"  # a module no other test has imported
    helped.write_text(PLUGIN + "\nfrom exp_helper import METHOD\n")
    unrelated = plugin.parent / "exp_unrelated.py"
    unrelated.write_text("X = 1\n")
    text = SOLVE.replace('["cpsat", "greedy"]', '["greedy", "exp_helped:mine"]')
    path = write(tmp_path, text)
    store = tmp_path / "r.sqlite"
    assert run(path, store)[0].ran == 4
    unrelated.write_text("X = 2\n")
    assert run(path, store)[0].ran == 0
    helper.write_text("METHOD = 'greedy'  # edited\n")
    report, _ = run(path, store)
    assert (report.ran, report.done_before) == (2, 2)


def test_failures_and_timeouts_are_rows(tmp_path, plugin):
    text = SOLVE.replace('["cpsat", "greedy"]', '["exp_plugin:broken", "exp_plugin:slow"]')
    text = text.replace("seeds = [0, 1]", "seeds = [0]\ntimeout = 1")
    path = write(tmp_path, text)
    report, df = run(path, tmp_path / "r.sqlite")
    by = dict(zip(df["method"], zip(df["status"], df["message"])))
    assert by["exp_plugin:broken"][0] == "error" and "boom" in by["exp_plugin:broken"][1]
    assert by["exp_plugin:slow"] == ("timeout", "stopped after the grid's timeout of 1 s")
    assert report.failed == 2
    assert run(path, tmp_path / "r.sqlite")[0].ran == 0  # recorded, not lost


def test_rows_record_where_they_ran_and_simulations_are_checked(tmp_path):
    report, df = run(write(tmp_path, SIMULATE), tmp_path / "r.sqlite")
    assert report.ran == 2 and list(df["status"]) == ["ok", "ok"]
    assert {"host", "cpu_model", "versions", "cell_s"} <= set(df.columns)
    assert df["versions"].iloc[0].startswith("optsched ")
    assert (df["avg_jct_s"] > 0).all() and sorted(df["rate"]) == [0.5, 1.0]


# --- kills and concurrent runs --------------------------------------------------------


def start(tmp_path, *argv):
    path = os.pathsep.join([str(tmp_path / "plug"), os.environ.get("PYTHONPATH", "")])
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": path}
    return subprocess.Popen(
        [sys.executable, "-m", "optsched", *argv],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def stored(store: Path) -> list[tuple[str, float]]:
    if not store.exists():
        return []
    with sqlite3.connect(store) as db:
        try:
            return db.execute("SELECT key, finished FROM cells").fetchall()
        except sqlite3.OperationalError:  # the run is creating the store's tables
            return []


MANY = f"""
[[grid]]
kind = "solve"
instances = ["{FIG5}"]
methods = ["exp_plugin:paced"]
seeds = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]
time_limit = 5
"""


def test_a_killed_run_resumes_with_nothing_lost_or_duplicated(tmp_path, plugin):
    path = write(tmp_path, MANY)
    store = tmp_path / "r.sqlite"
    proc = start(tmp_path, "run", str(path), "--store", str(store), "-e", "serial")
    end = time.monotonic() + 60
    while len(stored(store)) < 3 and time.monotonic() < end:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    before = dict(stored(store))
    assert 3 <= len(before) < 12
    proc = start(tmp_path, "run", str(path), "--store", str(store), "-e", "serial", "--json")
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    report = json.loads(out)
    assert report["done_before"] == len(before) and report["ran"] == 12 - len(before)
    after = dict(stored(store))
    assert len(after) == 12
    assert all(after[k] == t for k, t in before.items())  # finished cells were not rerun


def test_two_concurrent_runs_share_the_cells(tmp_path, plugin):
    path = write(tmp_path, MANY)
    store = tmp_path / "r.sqlite"
    procs = [
        start(tmp_path, "run", str(path), "--store", str(store), "-e", "serial", "--json")
        for _ in range(2)
    ]
    reports = []
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        reports.append(json.loads(out))
    assert sum(r["ran"] for r in reports) == 12  # each cell ran once, in one of them
    assert all(r["ran"] >= 1 for r in reports)  # and both runs took part
    assert len(stored(store)) == 12
    with sqlite3.connect(store) as db:
        assert db.execute("SELECT COUNT(*) FROM claims").fetchone() == (0,)


def test_a_claim_of_a_dead_process_is_taken_over(tmp_path):
    store = tmp_path / "r.sqlite"
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    with Store(store) as st:
        st._db.execute("INSERT INTO claims VALUES ('k', ?, ?, '1', 0)", (st.host, int(dead.stdout)))
        assert st.claim("k")
        st._db.execute("UPDATE claims SET pid=1, started='' WHERE key='k'")  # init: alive
        assert not st.claim("k")


# --- executors ------------------------------------------------------------------------


def comparable(df):
    cols = [
        "grid",
        "file",
        "method",
        "seed",
        "rate",
        "status",
        "objective",
        "bound",
        "avg_jct_s",
        "makespan_s",
    ]
    keep = [c for c in cols if c in df.columns]
    return df[keep].sort_values(keep[:5]).reset_index(drop=True).astype(str)


def test_the_local_pool_gives_the_serial_rows(tmp_path):
    path = write(tmp_path, SOLVE + SIMULATE)
    _, serial = run(path, tmp_path / "a.sqlite", "serial")
    _, pool = run(path, tmp_path / "b.sqlite", "local")
    assert len(serial) == 6
    assert comparable(serial).equals(comparable(pool))


def test_ray_on_a_local_instance_gives_the_local_rows(tmp_path):
    ray = pytest.importorskip("ray")
    path = write(tmp_path, SOLVE + SIMULATE)
    _, local = run(path, tmp_path / "a.sqlite", "local")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        exp = read_experiment(path)
        ex = make_executor("ray")
        assert ex.slots == 2
        with Store(tmp_path / "b.sqlite") as st:
            run_experiment(exp, st, ex, progress=False)
            on_ray = results(exp, st)

        # a task holds as many CPUs as its cell's workers; one too big for any node
        # is refused, not queued forever
        def assigned_cpus() -> float:  # nested: Ray ships it by value
            return ray.get_runtime_context().get_assigned_resources().get("CPU", 0.0)

        jobs = [Job(cpus, cpus, assigned_cpus, tuple) for cpus in (1, 2, 3)]
        got = dict(ex.run(jobs))
        assert (got[1], got[2]) == (1.0, 2.0)
        assert "asks for 3 CPUs; the largest Ray node has 2" in str(got[3])
    finally:
        ray.shutdown()
    assert comparable(local).equals(comparable(on_ray))
    assert on_ray["ray_node"].notna().all()


# --- the commands over an experiment's results ---------------------------------------


def test_table_and_gap_read_an_experiments_store(tmp_path, capsys):
    path = write(
        tmp_path,
        SOLVE + SIMULATE.replace('policies = ["fifo"]', 'policies = ["fifo", "max_min_fairness"]'),
    )
    store = tmp_path / "r.sqlite"
    assert main(["run", str(path), "--store", str(store), "-e", "serial", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["cells"], report["ran"], report["failed"]) == (8, 8, 0)
    assert main(["table", str(path), "--store", str(store), "--grid", "exact", "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert {(r["method"], r["runs"], r["optimal"]) for r in rows} == {
        ("cpsat", 2, 2),
        ("greedy", 2, 0),
    }
    assert main(["table", str(store), "--values", "avg_jct_s", "--by", "policy", "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(r["policy"], r["runs"]) for r in rows] == [("fifo", 2), ("max_min_fairness", 2)]
    assert main(["gap", str(store), "-m", "max_min_fairness", "--against", "fifo", "--json"]) == 0
    gaps = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(gaps) == 4 and {g["metric"] for g in gaps} == {"avg_jct", "makespan"}


def test_run_refuses_bad_executor_options(tmp_path, capsys):
    path = write(tmp_path, SOLVE)
    assert main(["run", str(path), "-e", "local", "--address", "auto"]) == 2
    assert capsys.readouterr().err.strip() == (
        "optsched: error: --address applies to --executor ray only"
    )
    assert main(["run", str(path), "--store", str(tmp_path / "r.json")]) == 2
    assert "a result store is a .sqlite file" in capsys.readouterr().err
    assert not (tmp_path / "r.json").exists()
    bad = write(tmp_path, SIMULATE.replace('policies = ["fifo"]', 'policies = ["las"]'), "bad")
    store = tmp_path / "r.sqlite"
    assert main(["run", str(bad), "--store", str(store)]) == 2
    assert "grid load: policies: semantics gavel runs fifo," in capsys.readouterr().err
    assert not store.exists()  # nothing half-written


CALLS = """
def cell(x, seed):
    return [{"x": x, "square": x * x, "seed": seed}]
"""


def test_a_call_grid_runs_from_the_command_line_and_force_reruns(tmp_path, capsys):
    (tmp_path / "exp_cells.py").write_text(CALLS)
    path = write(
        tmp_path,
        '[[grid]]\nkind = "call"\nfunction = "exp_cells:cell"\nparams.x = [2, 3]\n'
        '[[output]]\nkind = "table"\nfile = "t.csv"\nrows = true\n',
    )
    store = tmp_path / "r.sqlite"
    args = ["run", str(path), "--store", str(store), "-e", "serial"]
    assert main(args) == 0
    assert "grid1 (call, 2 rows)" in capsys.readouterr().out
    before = dict(stored(store))
    assert main([*args, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["ran"] == 0
    assert main([*args, "--force", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["ran"] == 2
    after = dict(stored(store))
    assert after.keys() == before.keys() and all(after[k] > before[k] for k in before)
    exp = read_experiment(path)
    with Store(store) as st:
        df = results(exp, st)
    assert sorted(zip(df["x"], df["square"])) == [(2, 4), (3, 9)]


FLAKY = """
from pathlib import Path

def cell(x, seed):
    if x == 3 and not (Path(__file__).parent / "fixed").exists():
        raise OSError("disk full")
    return {"x": x}
"""


def test_retry_reruns_exactly_the_failed_cells(tmp_path, capsys):
    (tmp_path / "exp_flaky.py").write_text(FLAKY)
    path = write(
        tmp_path, '[[grid]]\nkind = "call"\nfunction = "exp_flaky:cell"\nparams.x = [2, 3]\n'
    )
    args = ["run", str(path), "--store", str(tmp_path / "r.sqlite"), "-e", "serial", "--json"]

    def ran(*extra: str) -> int:
        assert main([*args, *extra]) == 0
        return json.loads(capsys.readouterr().out)["ran"]

    assert ran() == 2  # one of them an error row
    assert ran() == 0  # a failure is a result: not rerun unasked
    assert ran("--retry", "timeout") == 0
    (tmp_path / "fixed").touch()
    assert ran("--retry", "error,timeout") == 1
    assert ran("--retry", "error") == 0
    assert main([*args, "--retry", "done"]) == 2
    assert "--retry: must be statuses among error, timeout, rejected, got 'done'" in (
        capsys.readouterr().err
    )
