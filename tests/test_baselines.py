"""Every baseline returns checker-valid solutions; plug-ins and gaps."""

import json
import math
import sys
import textwrap

import pytest

from optsched.bench import gap_table, summarize
from optsched.cli import main
from optsched.io import read_instance
from optsched.model import homogeneous
from optsched.problems.hopper import HopperInstance
from optsched.problems.hopper.generate import cerebro_fig6
from optsched.problems.placement.generate import gavel_placement
from optsched.problems.spase import SpaseInstance, Task, TaskConfig
from optsched.problems.timeslot.generate import gavel_timeslot
from optsched.registry import methods
from optsched.result import Status
from optsched.solve import solve


def _family_instances(examples):
    return {
        "hopper": [
            read_instance(examples / "cerebro_fig5.json"),
            cerebro_fig6(16, 8, True, 1),
            cerebro_fig6(16, 8, True, 1).fully_replicated(),
        ],
        "spase": [
            read_instance(examples / "saturn_fig4.json"),
            SpaseInstance(
                "het",
                homogeneous(1, 3, 4, "a100"),
                tuple(
                    Task(
                        f"t{i}",
                        tuple(TaskConfig("p", g, 10.0 * (i + 1) / g**0.8) for g in (1, 2, 4)),
                    )
                    for i in range(7)
                ),
            ),
        ],
        "placement": [
            read_instance(examples / "placement_small.json"),
            gavel_placement(20, {"v100": 8, "p100": 8, "k80": 4}, 3),
        ],
        "timeslot": [
            read_instance(examples / "timeslot_small.json").replace(num_slots=12),
            # work sized for 30 slots, horizon of 90: every policy can finish
            gavel_timeslot(
                10,
                {"v100": 4, "p100": 4, "k80": 4},
                30,
                2,
                objective="weighted_completion",
                restart_overhead=20.0,
            ).replace(num_slots=90),
        ],
    }


EXPECTED = {
    "placement": {"first_fit", "best_fit", "scattered", "random", "gavel", "gandiva", "greedy"},
    "timeslot": {
        "fifo",
        "sjf",
        "srtf",
        "tiresias_las",
        "tiresias_gittins",
        "gavel_mmf",
        "themis",
        "allox",
        "optimus",
        "greedy",
    },
    "hopper": {"randomized", "task_parallel", "greedy"},
    "spase": {"max_heuristic", "min_heuristic", "optimus_greedy", "randomized", "greedy"},
}


def test_every_published_baseline_is_registered():
    for family, names in EXPECTED.items():
        registered = {m.name for m in methods(family) if m.kind == "heuristic"}
        assert names <= registered, names - registered


@pytest.mark.parametrize("family", sorted(EXPECTED))
def test_baselines_give_checked_feasible_solutions(examples, family):
    for inst in _family_instances(examples)[family]:
        for m in methods(family):
            if m.kind != "heuristic":
                continue
            if family == "hopper":
                needs_replicas = m.name == "task_parallel"
                if needs_replicas != inst.replicated and m.name != "randomized":
                    refused = solve(inst, m.name, seed=1)
                    assert refused.status is Status.UNSUPPORTED
                    assert "unreplicated" in refused.message or "replication" in refused.message
                    continue
            result = solve(inst, m.name, seed=1)
            assert result.status in (Status.FEASIBLE, Status.OPTIMAL), (
                inst.name,
                m.name,
                result.message,
            )
            assert result.check.feasible
            # a heuristic never beats a proven bound
            if inst.sense.value == "min":
                assert result.objective >= result.bound * (1 - 1e-9)
            else:
                assert result.objective <= result.bound * (1 + 1e-9)


def test_cerebro_randomized_on_fig5_is_at_least_7(examples):
    inst = read_instance(examples / "cerebro_fig5.json")
    seen = set()
    for seed in range(30):
        r = solve(inst, "randomized", seed=seed)
        assert r.check.feasible and r.objective >= 7.0 and r.bound == 7.0
        seen.add(r.objective)
    assert min(seen) == 7.0  # it does find the optimum for some seeds


def test_task_parallel_on_fig5_is_9(examples):
    inst = read_instance(examples / "cerebro_fig5.json").fully_replicated()
    r = solve(inst, "task_parallel")
    # LPT on epochs {6,6,3,3,3}: 6 | 6 | 3+3, then the last 3 joins a 6: makespan 9
    assert r.objective == 9.0 and r.check.feasible


def test_seeds_change_random_baselines_and_repeat(examples):
    inst = cerebro_fig6(16, 8, True, 0)
    a = solve(inst, "randomized", seed=1).objective
    assert a == solve(inst, "randomized", seed=1).objective
    assert len({solve(inst, "randomized", seed=s).objective for s in range(6)}) > 1


def test_timeslot_policy_out_of_horizon_is_an_error_not_a_bug(examples):
    inst = gavel_timeslot(24, {"v100": 12, "p100": 12, "k80": 8}, 24, 0)
    r = solve(inst, "sjf")
    assert r.status is Status.ERROR and "unfinished at the horizon" in r.message
    assert "bug" not in r.message


def test_gap_table_and_summary(examples):
    insts = [
        read_instance(examples / "cerebro_fig5.json"),
        read_instance(examples / "saturn_fig4.json"),
    ]
    df = gap_table(insts, "randomized", time_limit=30)
    assert list(df["reference"]) == [7.0, 108000.0]
    assert all(df["feasible"])
    s = summarize(df)
    assert s["n"] == 2 and s["max"] == pytest.approx(df["gap"].max())
    assert s["within_0.1%"] == int((df["gap"] <= 1e-3).sum())
    assert s["geomean"] <= s["mean"] + 1e-12


def test_gap_against_a_method_is_signed(examples):
    inst = read_instance(examples / "placement_small.json")
    df = gap_table([inst], "first_fit", against="greedy")
    assert df["gap"][0] > 0  # first-fit is worse than the density greedy here
    df = gap_table([inst], "greedy", against="first_fit")
    assert df["gap"][0] < 0  # negative: better than the reference method


def test_summary_without_finite_gaps():
    import pandas as pd

    s = summarize(pd.DataFrame({"gap": [math.inf, math.nan]}))
    assert s["n"] == 2 and s["no_gap"] == 2 and s["mean"] is None


PLUGIN = textwrap.dedent('''
    from optsched.problems.spase import SpaseSolution, TaskPlan


    def one_by_one(instance, options):
        """Every task alone on server 0, one after another, smallest configuration."""
        t, plans = 0.0, {}
        for task in instance.tasks:
            k = min(range(len(task.configs)), key=lambda k: task.configs[k].num_gpus)
            cfg = task.configs[k]
            plans[task.id] = TaskPlan(k, tuple(range(cfg.num_gpus)), t)
            t += cfg.runtime
        return SpaseSolution(plans)
''')


def test_plugin_module_is_found_run_and_checked(tmp_path, monkeypatch, capsys, examples):
    (tmp_path / "user_rules.py").write_text(PLUGIN)
    monkeypatch.syspath_prepend(str(tmp_path))
    code = main(
        ["gap", str(examples / "saturn_fig4.json"), "-m", "user_rules:one_by_one", "--json"]
    )
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert code == 0
    # A 10 h + B 40 h + C 24 h back to back on server 0 = 74 h, against the 30 h bound
    assert lines[0]["objective"] == 74 * 3600.0 and lines[0]["feasible"] is True
    assert lines[0]["gap"] == pytest.approx(74 / 30 - 1)
    assert lines[1]["summary"]["n"] == 1


def test_entry_point_plugins(tmp_path, monkeypatch):
    (tmp_path / "installed_rules.py").write_text(PLUGIN)
    monkeypatch.syspath_prepend(str(tmp_path))
    import importlib.metadata as md

    from optsched import registry

    ep = md.EntryPoint(
        name="spase:one_by_one",
        value="installed_rules:one_by_one",
        group=registry.ENTRY_POINT_GROUP,
    )
    monkeypatch.setattr(
        md, "entry_points", lambda group=None: [ep] if group == registry.ENTRY_POINT_GROUP else []
    )
    registry._entry_points.cache_clear()
    names = {m.name for m in registry.methods("spase")}
    assert "one_by_one" in names
    inst = HopperInstance.from_matrix("h", [[1.0]])
    assert inst.family == "hopper"
    sys.modules.pop("installed_rules", None)
    registry._entry_points.cache_clear()
