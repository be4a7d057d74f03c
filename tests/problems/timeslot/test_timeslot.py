"""Timeslot: the checker, the exact models on hand-derived optima, the policies."""

import pytest
from helpers import BACKENDS, assert_optimal, run

from optsched.core import Status
from optsched.io import read_instance, read_solution
from optsched.model import gavel, homogeneous, single_server
from optsched.problems import check
from optsched.problems.timeslot import Run, TimeslotInstance, TimeslotJob, TimeslotSolution
from optsched.problems.timeslot.generate import gavel_timeslot
from optsched.solve import solve
from optsched.throughput import gavel_table

R18 = "ResNet-18 (batch size 64)"


LM = "LM (batch size 20)"


R50 = "ResNet-50 (batch size 32)"


def kinds(report):
    return {k: s for k, (_, s) in report.by_kind().items()}


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


def _three_jobs(objective, overhead=0.0):
    # one server with 2 V100, slots of 360 s. A needs 2 slots on both GPUs; B and C need
    # one slot on one GPU each. Capacity 2: makespan 3 slots = 1080 s. Weighted completion
    # (weights 1): B, C first (360 + 360) then A (1080) = 1800 beats A first (720 + 2 x 1080).
    t = gavel_table()
    r50, r18 = "ResNet-50 (batch size 32)", "ResNet-18 (batch size 64)"
    jobs = (
        TimeslotJob("A", r50, 2, work=2 * 360 * t.isolated[(r50, "v100", 2)]),
        TimeslotJob("B", r18, 1, work=360 * t.isolated[(r18, "v100", 1)]),
        TimeslotJob("C", r18, 1, work=360 * t.isolated[(r18, "v100", 1)]),
    )
    return TimeslotInstance(
        "ts", single_server(2), jobs, num_slots=5, objective=objective, restart_overhead=overhead
    )


def test_timeslot_makespan_and_weighted_completion(backend):
    assert_optimal(run(_three_jobs("makespan"), backend), 1080.0)
    assert_optimal(run(_three_jobs("weighted_completion"), backend), 1800.0)


def test_timeslot_restart_overhead_costs_a_slot(backend):
    # with 10 s to (re)start, every job falls 10 s short of its work in the slots above,
    # so each needs one more slot: A 3, B 2, C 2 on 2 GPUs -> makespan 5 slots = 1800 s
    # (A on both GPUs for 3 slots, B and C side by side for 2)
    assert_optimal(run(_three_jobs("makespan", 10.0), backend), 1800.0)


def test_timeslot_max_ftf(backend):
    inst = _three_jobs("max_ftf")
    # ideal times: A 720 s (share min(1, 2 / (3 x 2)) = 1/3 -> 2160 s), B and C 360 s at
    # share 2/3 -> 540 s. B, C first then A: rho = max(360/540, 1080/2160) = 2/3;
    # A first: max(720/2160, 1080/540) = 2. Optimum 2/3.
    assert inst.ideal_time["A"] == pytest.approx(2160.0)
    assert_optimal(run(inst, backend), 2 / 3)


def _locality_slots(locality, overhead=0.0):
    # 2 servers x 3 V100 (one rack); three 2-GPU LM jobs, each one slot of work at its
    # packed rate (132.17 it/s). Without locality all three run in slot 0: makespan 360 s.
    # With it, the third must spread (rate x 30.44/132.17 = 0.23, over 4 slots) or wait
    # a slot to run packed: makespan 720 s, weighted completion 360 + 360 + 720 = 1440.
    t = gavel_table()
    lm = "LM (batch size 20)"
    jobs = tuple(TimeslotJob(n, lm, 2, work=360 * t.isolated[(lm, "v100", 2)]) for n in "ABC")
    return TimeslotInstance(
        "loc",
        homogeneous(1, 2, 3, "v100"),
        jobs,
        num_slots=6,
        locality=locality,
        restart_overhead=overhead,
    )


def test_timeslot_locality_changes_the_optimum(backend):
    assert_optimal(run(_locality_slots(False), backend), 360.0)
    result = run(_locality_slots(True), backend)
    assert_optimal(result, 720.0)
    assert all(r.gpus is not None for r in result.solution.runs)
    wc = _locality_slots(True).replace(objective="weighted_completion")
    assert_optimal(run(wc, backend), 1440.0)


def test_timeslot_locality_with_restart_overhead_is_refused(backend):
    result = run(_locality_slots(True, overhead=10.0), backend)
    assert result.status is Status.UNSUPPORTED
    assert "need restart_overhead 0" in result.message
    # the solver-free bound still stands: one slot of work plus 10 s of start-up
    # needs two slots
    assert result.solution is None and result.bound == 360.0 * 2


def test_timeslot_policy_out_of_horizon_is_no_solution_not_an_error(examples, capsys, tmp_path):
    # the rule ran to its end and left a job unfinished: no solution, no failure
    # (the CLI exits 0, as for any result), and no bound is claimed from it
    inst = gavel_timeslot(24, {"v100": 12, "p100": 12, "k80": 8}, 24, 0)
    r = solve(inst, "sjf")
    assert r.status is Status.NO_SOLUTION and "unfinished at the horizon" in r.message
    assert "bug" not in r.message and r.solution is None
    from optsched.cli import main
    from optsched.io import write_instance

    write_instance(tmp_path / "i.json", inst)
    assert main(["solve", str(tmp_path / "i.json"), "-m", "sjf"]) == 0
    assert "no_solution" in capsys.readouterr().out


def test_a_horizon_too_short_for_a_job_is_proven_infeasible():
    # job b needs 3 slots from its release in slot 1 (see timeslot_small), the horizon
    # has 3: every exact model says infeasible from the bound alone (CP-SAT used to
    # build a makespan variable with an empty domain and report an error)
    import json

    from conftest import EXAMPLES

    from optsched.io import instance_from_dict

    data = json.loads((EXAMPLES / "timeslot_small.json").read_text())
    data["num_slots"] = 3
    inst = instance_from_dict(data)
    for method in ("cpsat", "milp"):
        r = solve(inst, method)
        assert r.status is Status.INFEASIBLE and "beyond the horizon of 3" in r.message


def test_baselines_name_gpus_with_locality():
    # With locality on, every baseline places its runs on concrete GPUs through the
    # placement rules it shares with the simulator, and the checker accepts them.
    # Three 2-GPU LM jobs on 2 servers x 3 V100: two pack in slot 0; the third
    # spreads (1 + 1) and progresses at the unconsolidated rate, so it needs
    # 132.17 / 30.44 = 4.34 slots alone: every baseline takes at least 2 slots.
    from optsched.registry import methods

    inst = _locality_slots(True)
    for m in methods("timeslot"):
        if m.kind != "heuristic":
            continue
        result = solve(inst, m.name, seed=0)
        assert result.status in (Status.FEASIBLE, Status.OPTIMAL), (m.name, result.message)
        assert all(r.gpus is not None for r in result.solution.runs), m.name
        assert result.objective >= 720.0


def test_timeslot_makespan_bound_counts_gpu_slots():
    # 4 V100s; three 4-GPU jobs each needing 2 slots (released at 0, 0 and 1) and a
    # 1-GPU one needing 1 slot at 3. Alone each ends by slot 4, but from slot 0 they
    # hold 3 x 8 + 1 = 25 GPU-slots: ceil(25 / 4) = 7 slots; from slot 1, 9 GPU-slots
    # (3 slots, to slot 4). The bound is 7 slots, which the optimum meets: a 4-GPU
    # job fills the cluster, so the three run back to back and the small one in a
    # slot of its own.
    cluster = gavel({"v100": 4}, gpus_per_server=4)
    t = gavel_table()
    big, small = t.isolated[(R50, "v100", 4)], t.isolated[(R18, "v100", 1)]
    jobs = (
        TimeslotJob("a", R50, 4, work=big * 360 * 2),
        TimeslotJob("b", R50, 4, work=big * 360 * 2),
        TimeslotJob("c", R50, 4, work=big * 360 * 2, release=1),
        TimeslotJob("d", R18, 1, work=small * 360, release=3),
    )
    inst = TimeslotInstance("energy", cluster, jobs, num_slots=10)
    from optsched.problems.timeslot.bounds import lower_bound

    assert lower_bound(inst) == 7 * 360
    assert_optimal(run(inst, BACKENDS["cpsat"]), 7 * 360)
