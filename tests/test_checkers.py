"""Every checker: a valid solution, and each kind of violation with its size."""

import math

import pytest

from optsched.io import read_instance, read_solution
from optsched.model import gavel, single_server
from optsched.problems import check
from optsched.problems.hopper import HopperInstance, HopperSolution, lower_bound
from optsched.problems.placement import (
    Job,
    PlacementInstance,
    PlacementObjective,
    PlacementSolution,
)
from optsched.problems.spase import SpaseSolution, TaskPlan
from optsched.problems.spase import lower_bound as spase_bound
from optsched.problems.timeslot import Run, TimeslotInstance, TimeslotJob, TimeslotSolution
from optsched.throughput import gavel_table

R18 = "ResNet-18 (batch size 64)"
LM = "LM (batch size 20)"
R50 = "ResNet-50 (batch size 32)"


def kinds(report):
    return {k: s for k, (_, s) in report.by_kind().items()}


# ------------------------------------------------------------------ hopper
def test_cerebro_fig5_optimal_schedule(examples):
    inst = read_instance(examples / "cerebro_fig5.json")
    rep = check(inst, read_solution(examples / "cerebro_fig5.optimal.solution.json"))
    assert rep.feasible and rep.objective == 7
    assert lower_bound(inst) == 7  # every worker: 2+1+1+1+2


def test_hopper_violations():
    inst = HopperInstance.from_matrix("h", [[2, 3], [4, 1]])
    # worker 0: c0 [0,2) and c1 [1,5) overlap by 1; worker 1: c0 [2,5) and c1 [4,5)
    # by 1; config c1: [1,5) and [4,5) by 1
    sol = HopperSolution(((0, 2), (1, 4)))
    rep = check(inst, sol)
    assert kinds(rep) == {"worker_overlap": 2.0, "config_overlap": 1.0}
    assert rep.objective == 5
    rep = check(inst, HopperSolution(((-2, 0), (0, 3))))
    assert kinds(rep)["negative_start"] == 2
    rep = check(inst, HopperSolution(((0, 2),)))
    assert kinds(rep) == {"shape": 1} and math.isnan(rep.objective)


def test_hopper_zero_length_units_never_overlap():
    inst = HopperInstance.from_matrix("h", [[0, 1], [1, 0]])
    assert check(inst, HopperSolution(((0, 0), (0, 0)))).feasible


# ------------------------------------------------------------------ spase
def test_saturn_fig4_plans(examples):
    inst = read_instance(examples / "saturn_fig4.json")
    opt = check(inst, read_solution(examples / "saturn_fig4.optimal.solution.json"))
    assert opt.feasible and opt.objective == 30 * 3600
    plan54 = check(inst, read_solution(examples / "saturn_fig4.54h.solution.json"))
    assert plan54.feasible and plan54.objective == 54 * 3600
    # longest task alone needs 25 h (B on 4 GPUs)
    assert spase_bound(inst) == 25 * 3600


def test_spase_violations(examples):
    inst = read_instance(examples / "saturn_fig4.json")
    h = 3600.0
    sol = SpaseSolution(
        {
            "A": TaskPlan(0, (3, 4), 0.0),  # spans both servers
            "B": TaskPlan(1, (0, 1, 2), 5 * h),  # 3 GPUs for a 2-GPU config; overlaps C on 0..2
            "Z": TaskPlan(0, (0,), 0.0),
        }
    )
    rep = check(inst, sol)
    k = kinds(rep)
    assert k["unknown_task"] == 1 and k["missing_task"] == 1
    assert k["multi_server"] == 1 and k["wrong_gpu_count"] == 1
    assert math.isinf(rep.objective)
    sol = SpaseSolution(
        {
            "A": TaskPlan(0, (6, 7), -h),
            "B": TaskPlan(7, (4, 5), 0.0),
            "C": TaskPlan(0, (0, 1, 2, 99), 0.0),
        }
    )
    k = kinds(check(inst, sol))
    assert k == {"negative_start": h, "bad_config": 1, "gpu_out_of_range": 1}
    sol = SpaseSolution(
        {
            "A": TaskPlan(0, (0, 1), 20 * h),  # C holds GPUs 0-3 until 24 h: 4 h overlap on 2 GPUs
            "B": TaskPlan(1, (4, 5), 0.0),
            "C": TaskPlan(0, (0, 1, 2, 3), 0.0),
        }
    )
    assert kinds(check(inst, sol)) == {"gpu_overlap": 8 * h}


# ------------------------------------------------------------------ placement
def _placement(**kw):
    cluster = gavel({"v100": 8, "k80": 4}, gpus_per_server=4)
    jobs = (Job("a", R50, 4), Job("b", R18, 1), Job("c", LM, 1), Job("d", R50, 2, 2.0, ("k80",)))
    return PlacementInstance("p", cluster, jobs, **kw)


def test_placement_objectives_by_hand():
    t = gavel_table()
    inst = _placement(space_sharing=True)
    sol = PlacementSolution({"a": (0, 1, 2, 3), "b": (4,), "c": (4,), "d": (8, 9)})
    rep = check(inst, sol)
    assert rep.feasible
    # a, d run alone packed: normalised 1 (d's reference is its K80 value);
    # b and c share GPU 4: their measured co-located rates over isolated ones
    b_pair = t.colocated[(R18, LM, "v100", 1)]
    nb = b_pair[0] / t.isolated[(R18, "v100", 1)]
    nc = b_pair[1] / t.isolated[(LM, "v100", 1)]
    assert rep.objective == pytest.approx(1 + nb + nc + 2.0 * 1)
    gpus = check(_placement(space_sharing=True, objective=PlacementObjective.GPUS_USED), sol)
    assert gpus.objective == 7
    fair = check(_placement(space_sharing=True, objective="min_throughput"), sol)
    assert fair.objective == pytest.approx(min(nb, nc))


def test_placement_locality_lowers_the_objective():
    inst = _placement()
    packed = check(inst, PlacementSolution({"a": (0, 1, 2, 3)})).objective
    spread = check(inst, PlacementSolution({"a": (0, 1, 4, 5)})).objective
    assert packed == 1.0 and spread < packed
    t = gavel_table()
    assert spread == pytest.approx(
        min(1.0, t.unconsolidated[(R50, "v100", 4)] / t.isolated[(R50, "v100", 4)])
    )


def test_placement_violations():
    inst = _placement()
    sol = PlacementSolution({"a": (0, 1, 2), "b": (0,), "d": (4, 5), "zz": (1,)})
    k = kinds(check(inst, sol))
    assert k == {
        "unknown_job": 1,
        "wrong_gpu_count": 1,
        "gpu_type_not_allowed": 1,
        "gpu_overcommitted": 1,
    }
    rep = check(inst, PlacementSolution({"a": (0, 1, 2, 99)}))
    assert kinds(rep) == {"gpu_out_of_range": 1} and math.isnan(rep.objective)
    rep = check(inst, PlacementSolution({"a": (0, 1, 8, 9)}))
    assert kinds(rep)["mixed_gpu_types"] == 1
    rep = check(inst, PlacementSolution({"a": (0, 0, 1, 2)}))
    assert kinds(rep) == {"duplicate_gpu": 1, "wrong_gpu_count": 1}


def test_placement_sharing_rules():
    inst = _placement(space_sharing=True)
    # sharing must be on identical GPU sets; at most two jobs per GPU
    rep = check(inst, PlacementSolution({"a": (0, 1, 2, 3), "b": (3,)}))
    assert kinds(rep) == {"partial_overlap": 1}
    rep = check(inst, PlacementSolution({"b": (4,), "c": (4,), "a": (4, 5, 6, 7)}))
    assert kinds(rep)["gpu_overcommitted"] == 1
    # two 4-GPU ResNet-50 jobs: Gavel measured no multi-GPU pair
    two = PlacementInstance(
        "p", inst.cluster, (Job("a", R50, 4), Job("e", R50, 4)), space_sharing=True
    )
    rep = check(two, PlacementSolution({"a": (0, 1, 2, 3), "e": (0, 1, 2, 3)}))
    assert kinds(rep) == {"pair_not_allowed": 2}


# ------------------------------------------------------------------ timeslot
def _timeslot(**kw):
    cluster = gavel({"v100": 4, "k80": 4}, gpus_per_server=4)
    t = gavel_table()
    rate = t.isolated[(R18, "v100", 1)]
    jobs = (
        TimeslotJob("a", R18, 1, work=rate * 360 * 2),  # exactly 2 V100 slots
        TimeslotJob("b", R50, 4, work=1000.0, release=1, weight=3.0),
    )
    return TimeslotInstance("t", cluster, jobs, num_slots=4, **kw)


def test_timeslot_objectives_by_hand(examples):
    inst = _timeslot()
    sol = TimeslotSolution(
        (Run("a", 0, "v100"), Run("a", 1, "v100"), Run("b", 1, "k80"), Run("b", 2, "k80"))
    )
    rep = check(inst, sol)
    # b: R50 on 4 K80 = 4.38 it/s -> 1577 per slot, done in slot 1
    assert rep.feasible and rep.details["completion"] == {"a": 720.0, "b": 720.0}
    assert rep.objective == 720.0
    wc = check(_timeslot(objective="weighted_completion"), sol)
    assert wc.objective == 720.0 + 3.0 * (720.0 - 360.0)
    assert (
        check(
            read_instance(examples / "timeslot_small.json"),
            read_solution(examples / "timeslot_small.solution.json"),
        ).objective
        == 1800
    )


def test_timeslot_restart_overhead_delays_completion():
    inst = _timeslot(restart_overhead=10.0)
    contiguous = (Run("a", 0, "v100"), Run("a", 1, "v100"), Run("b", 1, "k80"))
    rep = check(inst, TimeslotSolution(contiguous))
    # a pays 10 s once: 710 s of work in 720 s of slots -> unfinished
    assert kinds(rep)["incomplete"] == pytest.approx(10 / 720)
    rep = check(inst, TimeslotSolution(contiguous + (Run("a", 2, "v100"),)))
    assert rep.feasible and rep.details["completion"]["a"] == 1080.0


def test_timeslot_max_ftf_by_hand():
    inst = _timeslot(objective="max_ftf")
    t = gavel_table()
    sol = TimeslotSolution((Run("a", 0, "v100"), Run("a", 1, "v100"), Run("b", 1, "v100")))
    rep = check(inst, sol)
    # a: ideal = work / (rate * min(1, 8 GPUs / (2 jobs * 1 GPU))) = 720 s, finish 720 s
    # b: ideal = 1000 / (best 4-GPU rate * min(1, 8 / (2 * 4))), finish 720 - 360
    ideal_b = 1000.0 / max(t.isolated[(R50, "v100", 4)], t.isolated[(R50, "k80", 4)])
    assert rep.objective == pytest.approx(max(720 / 720, 360 / ideal_b))


def test_timeslot_violations():
    inst = _timeslot()
    sol = TimeslotSolution(
        (
            Run("a", 0, "v100"),
            Run("a", 0, "k80"),  # double booked
            Run("b", 0, "v100"),  # before release, and over V100 capacity in slot 0
            Run("zz", 1, "v100"),
            Run("a", 9, "v100"),
            Run("a", 1, "a100"),
        )
    )
    k = kinds(check(inst, sol))
    assert k["double_booked"] == 1 and k["before_release"] == 1
    assert k["capacity"] == 1  # 1 + 4 GPUs on 4 V100
    assert k["unknown_job"] == 1 and k["slot_out_of_range"] == 1
    assert k["gpu_type_not_allowed"] == 1 and k["incomplete"] > 0


def test_timeslot_locality_needs_gpu_sets():
    inst = _timeslot(locality=True)
    sol = TimeslotSolution(
        (
            Run("a", 0, "v100", (0,)),
            Run("a", 1, "v100"),
            Run("b", 1, "v100", (0, 1, 2, 3)),
            Run("b", 2, "k80", (4, 5, 6)),
            Run("a", 2, "v100", (0,)),
            Run("b", 3, "v100", (0, 1, 2, 3)),
            Run("a", 3, "v100", (0,)),
        )
    )
    k = kinds(check(inst, sol))
    assert k["gpus_missing"] == 1 and k["wrong_gpus"] == 1
    assert k["gpu_overlap"] == 1  # slot 3: GPU 0 held by a and b
    assert k["capacity"] == 2  # slots 1 and 3: a (1 GPU) + b (4 GPUs) on 4 V100


def test_single_server_builder():
    assert single_server(8).num_gpus == 8


def test_hopper_replication():
    # 2 configs, 2 workers; partition 1 is also on worker 0
    inst = HopperInstance(
        "r", ("a", "b"), ("w0", "w1"), ((1.0, 2.0), (3.0, 4.0)), replicas=((0,), (0, 1))
    )
    # a runs both partitions on worker 0 (1 + 1 s at worker 0's speed); b runs partition 1
    # on worker 1 (4 s), then partition 0 on worker 0 (3 s): makespan 7
    ok = HopperSolution(((0.0, 1.0), (4.0, 0.0)), workers=((0, 0), (0, 1)))
    rep = check(inst, ok)
    assert rep.feasible and rep.objective == 7.0
    bad = HopperSolution(((0.0, 1.0), (4.0, 0.0)), workers=((1, 0), (0, 1)))
    assert kinds(check(inst, bad)) == {"not_replicated": 1}
    # with replication the bound uses each unit's least time: a 1+1, b 3+3 -> max(6, 8/2)
    assert lower_bound(inst) == 6.0
    with pytest.raises(Exception, match="must include its own worker"):
        HopperInstance("r", ("a",), ("w0", "w1"), ((1.0, 2.0),), replicas=((1,), (1,)))
