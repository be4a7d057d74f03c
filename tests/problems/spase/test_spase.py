"""Spase: the checker and the exact models on hand-derived optima."""

import math

from helpers import BACKENDS, assert_optimal, run

from optsched.io import read_instance, read_solution
from optsched.model import single_server
from optsched.problems import check
from optsched.problems.spase import SpaseInstance, SpaseSolution, Task, TaskConfig, TaskPlan
from optsched.problems.spase import lower_bound as spase_bound


def kinds(report):
    return {k: s for k, (_, s) in report.by_kind().items()}


# ------------------------------------------------------------------ spase
def test_saturn_fig4_plans(examples):
    inst = read_instance(examples / "saturn_fig4.json")
    opt = check(inst, read_solution(examples / "saturn_fig4.optimal.solution.json"))
    assert opt.feasible and opt.objective == 30 * 3600
    plan54 = check(inst, read_solution(examples / "saturn_fig4.54h.solution.json"))
    assert plan54.feasible and plan54.objective == 54 * 3600
    # B alone needs 25 h (on 4 GPUs). Below 27 h B must run on 4 GPUs: GPU-times A 20
    # (2 x 10), B 100, C 96 make 216 GPU-h on 8 GPUs, 27 h, not below 27. From 27 h B
    # may run on 3 GPUs: 20 + 81 + 96 = 197 GPU-h, 24.6 h, so the bound is 27 h
    assert spase_bound(inst) == 27 * 3600


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


def test_cerebro_fig5_task_parallel_optimum_is_9(backend):
    # whole epochs {6,6,3,3,3} on 3 GPUs (P||Cmax): some GPU runs two epochs; the 6s must
    # be apart, so that GPU holds 6+3 or 3+3+3: 9 is optimal
    tasks = tuple(Task(n, (TaskConfig("epoch", 1, t),)) for n, t in zip("ABCDE", (6, 3, 3, 3, 6)))
    inst = SpaseInstance("task-parallel", single_server(3), tasks)
    assert_optimal(run(inst, backend), 9.0)


def test_saturn_fig4_optimum_is_30h(examples, backend):
    inst = read_instance(examples / "saturn_fig4.json")
    plan54 = read_solution(examples / "saturn_fig4.54h.solution.json")
    assert_optimal(run(inst, backend), 30 * 3600.0)
    # the 54 h plan is feasible but not optimal: warm-started from it, 30 h again
    assert_optimal(run(inst, backend, warm_start=plan54), 30 * 3600.0)


def test_spase_big_m_covers_long_unused_configurations(backend):
    # Saturn-style tasks whose slowest configuration (spilling) outlasts the whole
    # plan: a big-M of the horizon alone would make the MILP infeasible. GPT-J on 4 GPUs
    # (129384 s) is the longest task, and the rest fit beside it on the other server.
    from optsched.problems.spase.generate import saturn_tasks

    assert_optimal(run(saturn_tasks(5, 2, 4, 0), backend), 129384.0)


def test_spase_bound_takes_configurations_no_longer_than_the_makespan():
    # 2 GPUs. A: 1 GPU for 10 s (GPU-time 10) or 2 GPUs for 6 s (12); B: 1 GPU for 4 s.
    # Least GPU-time over both GPUs: (10 + 4) / 2 = 7. But a makespan below 10 rules out
    # A's 1-GPU run, so C >= (12 + 4) / 2 = 8 (< 10: consistent). Optimum 10.
    tasks = (
        Task("A", (TaskConfig("dp", 1, 10.0), TaskConfig("dp", 2, 6.0))),
        Task("B", (TaskConfig("dp", 1, 4.0),)),
    )
    inst = SpaseInstance("lb", single_server(2, "v100"), tasks)
    assert spase_bound(inst) == 8.0
    got = run(inst, BACKENDS["cpsat"])
    assert_optimal(got, 10.0)


def test_spase_bound_is_below_every_optimum_on_random_tiny_instances():
    import random

    rng = random.Random(7)
    raised = 0
    for seed in range(25):
        tasks = tuple(
            Task(
                f"t{i}",
                tuple(TaskConfig("dp", g, float(rng.randint(2, 30) * 8 // g)) for g in (1, 2, 4)),
            )
            for i in range(rng.randint(2, 5))
        )
        inst = SpaseInstance(f"r{seed}", single_server(4, "v100"), tasks)
        best = run(inst, BACKENDS["cpsat"])
        assert best.status.value == "optimal"
        lb = spase_bound(inst)
        assert lb <= best.objective + 1e-9
        old = max(
            max(min(c.runtime for c in t.configs) for t in tasks),
            sum(min(c.num_gpus * c.runtime for c in t.configs) for t in tasks) / 4,
        )
        assert lb >= old - 1e-9
        raised += lb > old + 1e-9
    assert raised > 0  # the makespan-dependent choice matters on some of them


def test_canonical_servers_number_each_class_by_first_use():
    from optsched.problems.spase.cpsat import canonical_servers

    # class {0, 1, 2} first used as 2 then 0, class {3, 4} first used as 4 then 3
    assert canonical_servers([[0, 1, 2], [3, 4]], [2, 4, 2, 0, 3]) == [0, 3, 0, 1, 4]


def test_spase_server_symmetry_keeps_the_optimum_of_the_milp():
    """cpsat numbers identical servers by first use; the MILP does not. On random
    instances on 3 identical servers both prove the same optimum."""
    import random

    from optsched.model import homogeneous

    rng = random.Random(11)
    for seed in range(10):
        tasks = tuple(
            Task(
                f"t{i}",
                tuple(TaskConfig("dp", g, float(rng.randint(2, 20) * 4 // g)) for g in (1, 2)),
            )
            for i in range(rng.randint(3, 5))
        )
        inst = SpaseInstance(f"s{seed}", homogeneous(1, 3, 2), tasks)
        cp, milp = run(inst, BACKENDS["cpsat"]), run(inst, BACKENDS["highs"])
        assert cp.parameters["symmetry_constraints"] == 2 * len(tasks)  # 2 server pairs
        assert_optimal(milp, cp.objective)
        assert_optimal(cp, milp.objective)
