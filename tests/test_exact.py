"""Exact methods under every back-end, on instances whose optimum is derived by hand."""

import random

import pytest

from optsched.io import read_instance, read_solution
from optsched.model import homogeneous, single_server
from optsched.problems.hopper import HopperInstance
from optsched.problems.placement import Job, PlacementInstance
from optsched.problems.spase import SpaseInstance, Task, TaskConfig
from optsched.problems.timeslot import TimeslotInstance, TimeslotJob
from optsched.result import Status
from optsched.solve import solve
from optsched.throughput import gavel_table

BACKENDS = [
    ("cpsat", {}),
    ("milp", {}),
    ("milp", {"solver": "highs"}),
    ("milp", {"solver": "scip"}),
    ("milp", {"solver": "mathopt:highs"}),
]
IDS = ["cpsat", "milp-cbc", "milp-highs", "milp-scip", "milp-mathopt-highs"]


def run(instance, method, kw, **more):
    return solve(instance, method, time_limit=60, workers=1, seed=0, **kw, **more)


def assert_optimal(result, value, rel=1e-6):
    assert result.status is Status.OPTIMAL, result.message
    assert result.check.feasible
    assert result.objective == pytest.approx(value, rel=rel)
    assert result.bound == pytest.approx(value, rel=rel)


@pytest.mark.parametrize("method, kw", BACKENDS, ids=IDS)
def test_cerebro_fig5_mop_optimum_is_7(examples, method, kw):
    # loads are 2+1+1+1+2 = 7 on every worker, so 7 is optimal
    assert_optimal(run(read_instance(examples / "cerebro_fig5.json"), method, kw), 7.0)


@pytest.mark.parametrize("method, kw", BACKENDS, ids=IDS)
def test_cerebro_fig5_task_parallel_optimum_is_9(method, kw):
    # whole epochs {6,6,3,3,3} on 3 GPUs (P||Cmax): some GPU runs two epochs; the 6s must
    # be apart, so that GPU holds 6+3 or 3+3+3: 9 is optimal
    tasks = tuple(Task(n, (TaskConfig("epoch", 1, t),)) for n, t in zip("ABCDE", (6, 3, 3, 3, 6)))
    inst = SpaseInstance("task-parallel", single_server(3), tasks)
    assert_optimal(run(inst, method, kw), 9.0)


@pytest.mark.parametrize("method, kw", BACKENDS, ids=IDS)
def test_saturn_fig4_optimum_is_30h(examples, method, kw):
    inst = read_instance(examples / "saturn_fig4.json")
    plan54 = read_solution(examples / "saturn_fig4.54h.solution.json")
    assert_optimal(run(inst, method, kw), 30 * 3600.0)
    # the 54 h plan is feasible but not optimal: warm-started from it, 30 h again
    assert_optimal(run(inst, method, kw, warm_start=plan54), 30 * 3600.0)


def _locality_instance(locality):
    # 2 servers x 3 V100 in one rack; three 2-GPU jobs: two pack, one must spread (1+1).
    # Spread factors (Gavel, 2 GPUs unconsolidated / consolidated): ResNet-18 b64
    # 31.48/74.14 = 0.425, LM b20 30.44/132.17 = 0.230, Transformer b64 7.01/15.88 = 0.441.
    # Spreading the Transformer is best: optimum 2 + 0.441; without locality 3.
    jobs = (
        Job("r18", "ResNet-18 (batch size 64)", 2),
        Job("lm", "LM (batch size 20)", 2),
        Job("tf", "Transformer (batch size 64)", 2),
    )
    return PlacementInstance("loc", homogeneous(1, 2, 3, "v100"), jobs, locality=locality)


@pytest.mark.parametrize("method, kw", BACKENDS, ids=IDS)
def test_placement_locality_changes_the_optimum(method, kw):
    t = gavel_table()
    tf = "Transformer (batch size 64)"
    spread = t.unconsolidated[(tf, "v100", 2)] / t.isolated[(tf, "v100", 2)]
    result = run(_locality_instance(True), method, kw)
    assert_optimal(result, 2 + spread)
    assert (
        len({result.solution.assignment["tf"][0] // 3, result.solution.assignment["tf"][1] // 3})
        == 2
    )
    assert_optimal(run(_locality_instance(False), method, kw), 3.0)


@pytest.mark.parametrize("method, kw", BACKENDS, ids=IDS)
def test_placement_interference_decides_co_location(method, kw):
    t = gavel_table()
    # one V100: run one job alone (value 1) or both together (f_a + f_b)
    good = ("ResNet-18 (batch size 64)", "LM (batch size 20)")  # 1.000 + 0.705 > 1
    bad = ("Recommendation (batch size 512)", "ResNet-50 (batch size 16)")  # 0.09 + 0.29 < 1
    for a, b in (good, bad):
        pa, pb = t.colocated[(a, b, "v100", 1)]
        together = pa / t.isolated[(a, "v100", 1)] + pb / t.isolated[(b, "v100", 1)]
        inst = PlacementInstance(
            "pair", single_server(1), (Job("a", a, 1), Job("b", b, 1)), space_sharing=True
        )
        result = run(inst, method, kw)
        assert_optimal(result, max(1.0, together))
        assert (len(result.solution.assignment) == 2) == (together > 1)


@pytest.mark.parametrize("method, kw", BACKENDS, ids=IDS)
def test_placement_min_throughput_and_gpus_used(method, kw):
    inst = _locality_instance(True)
    t = gavel_table()
    lm = "LM (batch size 20)"
    # max-min: the spread job sets the minimum; best is to spread the one that loses least
    tf = "Transformer (batch size 64)"
    best_spread = t.unconsolidated[(tf, "v100", 2)] / t.isolated[(tf, "v100", 2)]
    assert_optimal(run(inst.replace(objective="min_throughput"), method, kw), best_spread)
    assert_optimal(run(inst.replace(objective="gpus_used"), method, kw), 6.0)
    assert lm  # all three jobs fit: 6 GPUs in use


def _timeslot(objective, overhead=0.0):
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


@pytest.mark.parametrize("method, kw", BACKENDS, ids=IDS)
def test_timeslot_makespan_and_weighted_completion(method, kw):
    assert_optimal(run(_timeslot("makespan"), method, kw), 1080.0)
    assert_optimal(run(_timeslot("weighted_completion"), method, kw), 1800.0)


@pytest.mark.parametrize("method, kw", BACKENDS, ids=IDS)
def test_timeslot_restart_overhead_costs_a_slot(method, kw):
    # with 10 s to (re)start, every job falls 10 s short of its work in the slots above,
    # so each needs one more slot: A 3, B 2, C 2 on 2 GPUs -> makespan 5 slots = 1800 s
    # (A on both GPUs for 3 slots, B and C side by side for 2)
    assert_optimal(run(_timeslot("makespan", 10.0), method, kw), 1800.0)


@pytest.mark.parametrize("method, kw", BACKENDS, ids=IDS)
def test_timeslot_max_ftf(method, kw):
    inst = _timeslot("max_ftf")
    # ideal times: A 720 s (share min(1, 2 / (3 x 2)) = 1/3 -> 2160 s), B and C 360 s at
    # share 2/3 -> 540 s. B, C first then A: rho = max(360/540, 1080/2160) = 2/3;
    # A first: max(720/2160, 1080/540) = 2. Optimum 2/3.
    assert inst.ideal_time["A"] == pytest.approx(2160.0)
    assert_optimal(run(inst, method, kw), 2 / 3)


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


@pytest.mark.parametrize("method, kw", BACKENDS, ids=IDS)
def test_timeslot_locality_changes_the_optimum(method, kw):
    assert_optimal(run(_locality_slots(False), method, kw), 360.0)
    result = run(_locality_slots(True), method, kw)
    assert_optimal(result, 720.0)
    assert all(r.gpus is not None for r in result.solution.runs)
    wc = _locality_slots(True).replace(objective="weighted_completion")
    assert_optimal(run(wc, method, kw), 1440.0)


@pytest.mark.parametrize("method, kw", BACKENDS, ids=IDS)
def test_timeslot_locality_with_restart_overhead_is_refused(method, kw):
    result = run(_locality_slots(True, overhead=10.0), method, kw)
    assert result.status is Status.UNSUPPORTED
    assert "need restart_overhead 0" in result.message
    # the solver-free bound still stands: one slot of work plus 10 s of start-up
    # needs two slots
    assert result.solution is None and result.bound == 360.0 * 2


# ------------------------------------------------------------ CP-SAT vs MILP
def _random_hopper(rng):
    n, p = rng.randint(2, 5), rng.randint(2, 4)
    return HopperInstance.from_matrix(
        "r", [[rng.choice([0, 1, 2, 3, 5, 8]) for _ in range(p)] for _ in range(n)]
    )


def _random_spase(rng):
    size = rng.choice([2, 4])
    tasks = []
    for i in range(rng.randint(2, 5)):
        configs = [
            TaskConfig("p", g, float(rng.randint(2, 20)))
            for g in sorted(rng.sample(range(1, size + 1), rng.randint(1, 2)))
        ]
        tasks.append(Task(f"t{i}", tuple(configs)))
    return SpaseInstance("r", homogeneous(1, 2, size, "a100"), tuple(tasks))


def _random_placement(rng):
    types = [
        "ResNet-18 (batch size 64)",
        "LM (batch size 20)",
        "Transformer (batch size 32)",
        "ResNet-50 (batch size 32)",
        "A3C",
    ]
    jobs = []
    for i in range(rng.randint(2, 5)):
        jt = rng.choice(types)
        g = 1 if jt == "A3C" else rng.choice([1, 1, 2, 3, 4])
        jobs.append(Job(f"j{i}", jt, g, float(rng.randint(1, 3))))
    cluster = homogeneous(2, 2, 2, "v100", oversubscription=4.0)
    objective = rng.choice(["weighted_throughput", "min_throughput", "gpus_used"])
    return PlacementInstance(
        "r", cluster, tuple(jobs), objective=objective, space_sharing=rng.random() < 0.5
    )


def _random_timeslot(rng):
    from optsched.model import gavel

    types = ["ResNet-18 (batch size 64)", "LM (batch size 20)", "ResNet-50 (batch size 32)"]
    t = gavel_table()
    locality = rng.random() < 0.5
    jobs = []
    for i in range(rng.randint(2, 4)):
        jt, g = rng.choice(types), rng.choice([1, 2])
        slots = rng.uniform(0.5, 2.5)
        jobs.append(
            TimeslotJob(
                f"j{i}",
                jt,
                g,
                work=slots * 360 * t.isolated[(jt, "k80", g)],
                release=rng.randint(0, 1),
                weight=float(rng.randint(1, 3)),
            )
        )
    # with locality, two 2-GPU servers per type so that 2-GPU jobs may pack or spread
    cluster = gavel({"v100": 4, "k80": 4} if locality else {"v100": 2, "k80": 2}, gpus_per_server=2)
    return TimeslotInstance(
        "r",
        cluster,
        tuple(jobs),
        num_slots=8,
        objective=rng.choice(["makespan", "weighted_completion", "max_ftf"]),
        locality=locality,
        restart_overhead=0.0 if locality else rng.choice([0.0, 20.0]),
    )


@pytest.mark.parametrize(
    "make",
    [_random_hopper, _random_spase, _random_placement, _random_timeslot],
    ids=["hopper", "spase", "placement", "timeslot"],
)
def test_cpsat_and_milp_agree_on_random_instances(make):
    rng = random.Random(20261122)
    for _ in range(8):
        inst = make(rng)
        a = solve(inst, "cpsat", time_limit=60, workers=1, seed=0)
        b = solve(inst, "milp", time_limit=60, workers=1, seed=0)
        assert a.status is Status.OPTIMAL and b.status is Status.OPTIMAL, (a.message, b.message)
        assert a.objective == pytest.approx(b.objective, rel=1e-6, abs=1e-9)


def test_time_limit_returns_best_solution_and_bound():
    # 12 x 12 random open shop: CBC does not close the big-M model in one second
    rng = random.Random(2)
    inst = HopperInstance.from_matrix(
        "big", [[rng.uniform(1, 10) for _ in range(12)] for _ in range(12)]
    )
    result = solve(inst, "milp", time_limit=1.0)
    assert result.status is Status.FEASIBLE
    assert result.check.feasible
    assert result.bound <= result.objective
    assert result.parameters["time_limit"] == 1.0


@pytest.mark.parametrize("method, kw", BACKENDS, ids=IDS)
def test_spase_big_m_covers_long_unused_configurations(method, kw):
    # Saturn-style tasks whose slowest configuration (spilling) outlasts the whole
    # plan: a big-M of the horizon alone would make the MILP infeasible. GPT-J on 4 GPUs
    # (129384 s) is the longest task, and the rest fit beside it on the other server.
    from optsched.problems.spase.generate import saturn_tasks

    assert_optimal(run(saturn_tasks(5, 2, 4, 0), method, kw), 129384.0)


def test_hopper_cpsat_with_replicated_partitions(examples):
    # Fully replicated Figure 5: 21 units of work over 3 workers, so 7 is still a bound
    # and still reached.
    inst = read_instance(examples / "cerebro_fig5.json").fully_replicated()
    assert_optimal(run(inst, "cpsat", {}), 7.0)
    # Worker 1 is five times slower. Unreplicated, it must run both configs' units of
    # its partition: load 10. Replicated, all four 1-second units run on worker 0 one
    # after another: 4 (any unit on worker 1 alone takes 5).
    slow = HopperInstance.from_matrix("slow", [[1.0, 5.0], [1.0, 5.0]])
    assert_optimal(run(slow, "cpsat", {}), 10.0)
    result = run(slow.fully_replicated(), "cpsat", {})
    assert_optimal(result, 4.0)
    assert all(w == 0 for row in result.solution.workers for w in row)
    refused = solve(slow.fully_replicated(), "milp")
    assert refused.status is Status.UNSUPPORTED
    assert "unreplicated partitions only" in refused.message
