"""The central (interior-point) packed allocation: optima and analytic centres by hand."""

import json
from pathlib import Path

import numpy as np
import pytest

from optsched.allocation import AllocJob, allocate
from optsched.allocation.centre import central_packed
from optsched.allocation.lp import check
from optsched.allocation.problem import AllocProblem, gavel_input

DATA = Path(__file__).parent / "data"


def one_job_two_types():
    # One job, rate 1 on types a (1 GPU) and b (2 GPUs), no partner.
    return AllocProblem(
        (AllocJob("j", "t"),), {"a": 1, "b": 2}, lambda jt, k, t: 1.0, lambda *x: (0.0, 0.0)
    )


def test_an_interior_point_of_a_segment_of_optima():
    # Equal share: norm = 1, so z = s_a + s_b and every split with s_a + s_b = 1 is
    # optimal. A vertex takes an end of that segment; an interior-point method a
    # point inside it (on this degenerate toy ECOS ends at s_a = 0.360 and Clarabel
    # at 0.338: interior-point solvers differ; on Gavel's inputs the central
    # allocation matches ECOS, below).
    a = central_packed(one_job_two_types())
    s_a, s_b = a.single[0]
    assert a.objective == pytest.approx(1.0, abs=1e-8)
    assert s_a + s_b == pytest.approx(1.0, abs=1e-8)
    assert 0.3 < s_a < 0.4


def test_the_allocation_is_ecos_on_gavels_16_job_input():
    # ECOS's allocation of Gavel's per-job LP (experiments/ecos_reference.py): every
    # job's time alone and every pair's time together, per GPU type, to 1e-6.
    ref = json.loads((DATA / "ecos_packed_16.json").read_text())
    p = gavel_input(16, 2)
    a = central_packed(p)
    assert list(p.types) == ref["types"]
    assert a.objective == pytest.approx(ref["objective"], rel=1e-8)
    worst = 0.0
    for combo, x in zip(ref["combos"], ref["x"]):
        if len(combo) == 1:
            got = a.single[combo[0]]
        else:
            i, j = combo
            ci, cj = int(a.class_of[i]), int(a.class_of[j])
            frac = a.shared.get((ci, cj))
            partners = a.classes[cj].n - (ci == cj)
            got = frac / partners if frac is not None else np.zeros(len(p.types))
        worst = max(worst, float(np.max(np.abs(got - np.asarray(x)))))
    assert worst < 1e-6


def test_a_pair_takes_all_the_time_when_sharing_beats_turns():
    # Two jobs, one GPU. Alone each gets half the time: normalised 1/2 (the equal share
    # is the whole GPU). Sharing keeps 0.7 of each one's rate, so the pair's time
    # is the optimum, 0.7, and the centre gives the pair almost all the time.
    jobs = (AllocJob("a", "t"), AllocJob("b", "t"))
    p = AllocProblem(jobs, {"v": 1}, lambda jt, k, t: 2.0, lambda *x: (1.4, 1.4))
    a = central_packed(p)
    assert a.objective == pytest.approx(0.7, abs=1e-8)
    assert a.shared[(0, 0)][0] == pytest.approx(1.0, abs=1e-6)
    assert a.single.max() < 1e-6
    assert not check(a)


@pytest.mark.parametrize("n", [16, 64, 2048])
def test_the_centre_is_an_optimum_of_gavels_input(n):
    # at 2,048 jobs the last steps are singular to double precision (a slack computes
    # as 0): the path ends there, at the optimum
    p = gavel_input(n, 2)
    exact = allocate(p, "max_min_fairness_packed").objective
    a = central_packed(p)
    assert a.objective == pytest.approx(exact, rel=1e-8)
    assert not check(a)
    # an interior point: every job alone on every type gets time (throughputs > 0)
    assert np.all(a.single[p.throughputs > 0] > 0)
