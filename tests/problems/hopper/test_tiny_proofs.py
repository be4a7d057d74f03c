"""Tiny open shops: cpsat proves the brute-force optimum (exact rational scaling and
order literals), where the bound used to stall at the load bound."""

import pytest

from optsched.problems.hopper.generate import cerebro_fig6
from optsched.solve import solve
from optsched.solvers.cpsat import time_scale


def brute_force(times):
    """The optimum over every semi-active schedule: a semi-active schedule is the list
    schedule of its operations sorted by start (each starts when its worker and its
    config are both free), so trying every order of the operations finds it."""
    n, p = len(times), len(times[0])
    ops = [(i, j) for i in range(n) for j in range(p)]
    best = [float("inf")]

    def go(left, worker_free, config_free, span):
        # prune: every worker and config still has its remaining units to run
        bound = span
        for j in range(p):
            bound = max(bound, worker_free[j] + sum(times[i][jj] for i, jj in left if jj == j))
        for i in range(n):
            bound = max(bound, config_free[i] + sum(times[ii][j] for ii, j in left if ii == i))
        if bound >= best[0] - 1e-12:
            return
        if not left:
            best[0] = span
            return
        for k, (i, j) in enumerate(left):
            start = max(worker_free[j], config_free[i])
            end = start + times[i][j]
            wf, cf = list(worker_free), list(config_free)
            wf[j], cf[i] = end, end
            go(left[:k] + left[k + 1 :], wf, cf, max(span, end))

    go(ops, [0.0] * p, [0.0] * n, 0.0)
    return best[0]


def test_brute_force_by_hand():
    # 2 configs x 2 workers, [[3, 1], [1, 3]]: both do their long unit first, in
    # parallel, then swap: makespan 4 (the load bound)
    assert brute_force([[3, 1], [1, 3]]) == 4
    # [[2, 2], [2, 1]]: loads 4 and 3, but worker 0 carries 4 -> 4 + nothing better
    assert brute_force([[2, 2], [2, 1]]) == 4


CELLS = [(n, p, s) for n, p in ((2, 2), (2, 3), (3, 2), (3, 3), (4, 2)) for s in range(4)]


@pytest.mark.parametrize("n,p,seed", CELLS)
def test_cpsat_proves_the_brute_force_optimum(n, p, seed):
    inst = cerebro_fig6(n, p, True, seed)
    r = solve(inst, "cpsat", workers=1, seed=0, time_limit=10)
    assert r.status.value == "optimal"
    assert r.objective == pytest.approx(brute_force(inst.times), rel=1e-9)


def test_the_cell_that_stayed_unproven():
    # cerebro_fig6 4 x 3 heterogeneous, seed 1250: optimum 5.5774 above the load bound
    # 5.4524; cpsat used to stop at the load bound after 60 s
    inst = cerebro_fig6(4, 3, True, 1250)
    r = solve(inst, "cpsat", workers=1, seed=0, time_limit=10)
    assert r.status.value == "optimal"
    assert r.objective == pytest.approx(brute_force(inst.times), rel=1e-9)
    assert r.bound == pytest.approx(r.objective, rel=1e-12)  # exact scale: no rounding
    assert r.parameters["scaling_exact"] is True and r.parameters["time_scale"] == 113 * 121


def test_rational_times_scale_exactly():
    s, exact = time_scale([80 / 113, 80 / 121, 1.5])
    assert exact and s == 2 * 113 * 121
    s, exact = time_scale([2**0.5, 1.0])  # irrational: the fallback, flagged inexact
    assert not exact


def test_dense_open_shops_have_equal_loads_then_perturbed_ones():
    import numpy as np

    from optsched.errors import InputError
    from optsched.problems.hopper.generate import dense_open_shop
    from optsched.problems.hopper.instance import lower_bound

    flat = dense_open_shop(6, 0.0, 3)
    t = np.array(flat.times)
    assert (t.sum(axis=0) == 1000).all() and (t.sum(axis=1) == 1000).all() and t.min() >= 1
    assert lower_bound(flat) == 1000
    assert dense_open_shop(6, 0.0, 3) == flat  # deterministic in the seed
    bumpy = np.array(dense_open_shop(6, 0.2, 3).times)
    # the same matrix before the noise, each entry moved by at most 20% (and rounded)
    base = np.array(dense_open_shop(6, 0.0, 3).times)
    assert (np.abs(bumpy - base) <= 0.2 * base + 0.5).all() and (bumpy != base).any()
    with pytest.raises(InputError, match="perturbation must be in \\[0, 1\\), got 1.5"):
        dense_open_shop(4, 1.5, 0)


def test_small_dense_shops_are_proven_against_brute_force():
    from optsched.problems.hopper.generate import dense_open_shop

    for n, q, seed in ((3, 0.0, 0), (3, 0.1, 1), (3, 0.2, 2)):
        inst = dense_open_shop(n, q, seed)
        r = solve(inst, "cpsat", workers=1, seed=0, time_limit=10)
        assert r.status.value == "optimal"
        assert r.objective == pytest.approx(brute_force(inst.times), rel=1e-12)
