"""Spase: the checker and the exact models on hand-derived optima."""

import math

from helpers import assert_optimal, run

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
