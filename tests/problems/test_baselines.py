"""Every baseline of every family returns checker-valid solutions."""

import pytest

from optsched.core import Status
from optsched.io import read_instance
from optsched.model import homogeneous
from optsched.problems import FAMILIES
from optsched.problems.hopper.generate import cerebro_fig6
from optsched.problems.placement.generate import gavel_placement
from optsched.problems.spase import SpaseInstance, Task, TaskConfig
from optsched.problems.timeslot.generate import gavel_timeslot
from optsched.registry import methods
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


def test_every_family_has_baseline_instances(examples):
    # a new family joins these tests by adding its instances here
    assert set(_family_instances(examples)) == set(FAMILIES)


@pytest.mark.parametrize("family", sorted(FAMILIES))
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
            # the checked objective never beats the family's solver-free bound, computed
            # here independently of the front door
            bound = FAMILIES[family].bound(inst)
            assert not inst.sense.crosses(result.check.objective, bound, 1e-9), (m.name, bound)


def test_seeds_change_random_baselines_and_repeat(examples):
    inst = cerebro_fig6(16, 8, True, 0)
    a = solve(inst, "randomized", seed=1).objective
    assert a == solve(inst, "randomized", seed=1).objective
    assert len({solve(inst, "randomized", seed=s).objective for s in range(6)}) > 1
