"""Hopper: the checker, the exact models on hand-derived optima, the baselines."""

import math
import random

import numpy as np
import pytest
from helpers import CPSAT, assert_optimal, run

from optsched.core import Status
from optsched.errors import InputError
from optsched.io import read_instance, read_solution
from optsched.problems import check
from optsched.problems.hopper import HopperInstance, HopperSolution, lower_bound
from optsched.solve import solve


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


def test_cerebro_fig5_mop_optimum_is_7(examples, backend):
    # loads are 2+1+1+1+2 = 7 on every worker, so 7 is optimal
    assert_optimal(run(read_instance(examples / "cerebro_fig5.json"), backend), 7.0)


def test_hopper_cpsat_with_replicated_partitions(examples):
    # Fully replicated Figure 5: 21 units of work over 3 workers, so 7 is still a bound
    # and still reached.
    inst = read_instance(examples / "cerebro_fig5.json").fully_replicated()
    assert_optimal(run(inst, CPSAT), 7.0)
    # Worker 1 is five times slower. Unreplicated, it must run both configs' units of
    # its partition: load 10. Replicated, all four 1-second units run on worker 0 one
    # after another: 4 (any unit on worker 1 alone takes 5).
    slow = HopperInstance.from_matrix("slow", [[1.0, 5.0], [1.0, 5.0]])
    assert_optimal(run(slow, CPSAT), 10.0)
    result = run(slow.fully_replicated(), CPSAT)
    assert_optimal(result, 4.0)
    assert all(w == 0 for row in result.solution.workers for w in row)
    refused = solve(slow.fully_replicated(), "milp")
    assert refused.status is Status.UNSUPPORTED
    assert "unreplicated partitions only" in refused.message


@pytest.mark.parametrize(
    "solver, params, n",
    [
        ("scip", {"limits/nodes": 1}, 5),
        ("cbc", {"maxNodes": 0}, 5),
        ("highs", {"mip_max_nodes": 1}, 6),  # HiGHS closes the 5 x 5 at its root
    ],
    ids=["scip", "cbc", "highs"],
)
def test_a_limit_returns_best_solution_and_bound(solver, params, n):
    # A random open shop that the solver does not close at its root node. A node
    # limit (deterministic, unlike a time limit) stops the search: the best solution
    # and the best bound found still come back, and the parameters are recorded.
    rng = random.Random(2)
    inst = HopperInstance.from_matrix(
        "r", [[rng.uniform(1, 10) for _ in range(n)] for _ in range(n)]
    )
    result = solve(inst, "milp", time_limit=60, seed=0, solver=solver, params=params)
    assert result.status is Status.FEASIBLE, result.message
    assert result.check.feasible
    assert lower_bound(inst) <= result.bound < result.objective
    assert result.parameters["params"] == params and result.parameters["time_limit"] == 60


def test_cerebro_randomized_on_fig5_is_at_least_7(examples):
    inst = read_instance(examples / "cerebro_fig5.json")
    seen = set()
    for seed in range(30):
        r = solve(inst, "randomized", seed=seed)
        assert r.check.feasible and r.objective >= 7.0 and r.bound == 7.0
        seen.add(r.objective)
    assert min(seen) == 7.0  # it does find the optimum for some seeds


def test_randomized_worker_orders(examples):
    from optsched.problems.hopper.checker import check
    from optsched.problems.hopper.generate import cerebro_fig6
    from optsched.problems.hopper.heuristics import WORKER_ORDERS, randomized

    inst = cerebro_fig6(16, 8, False, 0)
    # the method's protocol is index order
    assert solve(inst, "randomized", seed=3).solution == randomized(inst, 3, "index")
    means = {}
    for order in WORKER_ORDERS:
        values = [check(inst, randomized(inst, s, order)).objective for s in range(30)]
        assert all(check(inst, randomized(inst, s, order)).feasible for s in range(3))
        means[order] = sum(values) / len(values)
    # who picks first matters: the orders give different schedules
    assert len(set(means.values())) > 1
    with pytest.raises(InputError, match="order must be one of index, random, shuffled_once"):
        randomized(inst, 0, "reverse")


def test_task_parallel_on_fig5_is_9(examples):
    inst = read_instance(examples / "cerebro_fig5.json").fully_replicated()
    r = solve(inst, "task_parallel")
    # LPT on epochs {6,6,3,3,3}: 6 | 6 | 3+3, then the last 3 joins a 6: makespan 9
    assert r.objective == 9.0 and r.check.feasible


def _greedy_by_scanning(T):
    # the rule of dense_greedy, by a scan of every config at every decision
    import math

    T = np.asarray(T, dtype=float)
    n, p = T.shape
    starts, todo = np.zeros((n, p)), np.ones((n, p), dtype=bool)
    left, ready, free = T.sum(axis=1), np.zeros(n), np.zeros(p)
    while todo.any():
        j = int(np.argmin(free))
        t = free[j]
        avail = todo[:, j] & (ready <= t)
        if avail.any():
            i = int(np.argmax(np.where(avail, left, -1.0)))
            starts[i, j], ready[i], free[j] = t, t + T[i, j], t + T[i, j]
            left[i] -= T[i, j]
            todo[i, j] = False
        elif todo[:, j].any():
            free[j] = float(ready[todo[:, j]].min())
        else:
            free[j] = math.inf
    return starts.tolist()


@pytest.mark.parametrize("shape", [(5, 3), (40, 8), (8, 40), (30, 30), (200, 4)])
@pytest.mark.parametrize("kind", ["uniform", "ties", "zeros"])
def test_dense_greedy_is_the_scanning_rule(shape, kind):
    # the heap version makes every decision the scan makes (ties included)
    from optsched.problems.hopper.heuristics import dense_greedy

    rng = np.random.default_rng(sum(shape))
    if kind == "uniform":
        T = rng.uniform(1, 10, shape).round(3)
    elif kind == "ties":
        T = rng.integers(1, 3, shape).astype(float)
    else:
        T = rng.integers(0, 3, shape).astype(float)
    assert dense_greedy(T) == _greedy_by_scanning(T)
