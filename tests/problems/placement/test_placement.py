"""Placement: the checker and the exact models on hand-derived optima."""

import math

import pytest
from helpers import assert_optimal, run

from optsched.model import gavel, homogeneous, single_server
from optsched.problems import check
from optsched.problems.placement import (
    Job,
    PlacementInstance,
    PlacementObjective,
    PlacementSolution,
)
from optsched.throughput import gavel_table

R18 = "ResNet-18 (batch size 64)"


LM = "LM (batch size 20)"


R50 = "ResNet-50 (batch size 32)"


def kinds(report):
    return {k: s for k, (_, s) in report.by_kind().items()}


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
    # two 4-GPU ResNet-50 jobs: Gavel measured no multi-GPU pair, so only the fitted
    # model (its default: the pair's 1-GPU factor) lets them share
    jobs = (Job("a", R50, 4), Job("e", R50, 4))
    two = PlacementInstance("p", inst.cluster, jobs, space_sharing=True)
    both = PlacementSolution({"a": (0, 1, 2, 3), "e": (0, 1, 2, 3)})
    rep = check(two, both)
    t = gavel_table()
    f = t.colocated[(R50, R50, "v100", 1)][0] / t.isolated[(R50, "v100", 1)]
    assert rep.feasible and rep.objective == pytest.approx(2 * f)
    forbid = two.replace(unmeasured_interference="forbid")
    assert kinds(check(forbid, both)) == {"pair_not_allowed": 2}
    # a pair recorded as not fitting on one GPU may not share, also under the fitted model
    big = "ResNet-50 (batch size 128)"
    partner = next(b for a, b, g in sorted(t.unavailable) if a == big and g == "k80")
    oom = PlacementInstance(
        "p", inst.cluster, (Job("a", big, 1), Job("e", partner, 1)), space_sharing=True
    )
    rep = check(oom, PlacementSolution({"a": (8,), "e": (8,)}))
    assert kinds(rep) == {"pair_not_allowed": 2}


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


def test_placement_locality_changes_the_optimum(backend):
    t = gavel_table()
    tf = "Transformer (batch size 64)"
    spread = t.unconsolidated[(tf, "v100", 2)] / t.isolated[(tf, "v100", 2)]
    result = run(_locality_instance(True), backend)
    assert_optimal(result, 2 + spread)
    assert (
        len({result.solution.assignment["tf"][0] // 3, result.solution.assignment["tf"][1] // 3})
        == 2
    )
    assert_optimal(run(_locality_instance(False), backend), 3.0)


def test_placement_interference_decides_co_location(backend):
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
        result = run(inst, backend)
        assert_optimal(result, max(1.0, together))
        assert (len(result.solution.assignment) == 2) == (together > 1)


def test_placement_min_throughput_and_gpus_used(backend):
    inst = _locality_instance(True)
    t = gavel_table()
    lm = "LM (batch size 20)"
    # max-min: the spread job sets the minimum; best is to spread the one that loses least
    tf = "Transformer (batch size 64)"
    best_spread = t.unconsolidated[(tf, "v100", 2)] / t.isolated[(tf, "v100", 2)]
    assert_optimal(run(inst.replace(objective="min_throughput"), backend), best_spread)
    assert_optimal(run(inst.replace(objective="gpus_used"), backend), 6.0)
    assert lm  # all three jobs fit: 6 GPUs in use


def test_cpsat_build_counts_against_the_time_limit():
    """A limit that ends while the model is being built returns the greedy start,
    checked, instead of building on past the limit."""
    from pathlib import Path

    from optsched.io import read_instance
    from optsched.problems.placement.heuristics import density_greedy
    from optsched.solve import solve

    root = Path(__file__).resolve().parents[3]
    inst = read_instance(root / "instances" / "placement-medium" / "alibaba-place-48j-s0.json")
    result = solve(inst, "cpsat", time_limit=1e-3, workers=1, seed=0)
    assert "time limit of 0.001 s reached building the model" in result.message
    assert "start returned" in result.message
    assert result.solution == density_greedy(inst)
    assert check(inst, result.solution).feasible and result.objective > 0


def test_solver_free_bound_is_its_definition_over_every_pair(examples, monkeypatch):
    """``best_normalised`` looks over partners by (job type, GPU type); the definition
    looks over every other job of the same gang size that shares a pool with it.
    Measured pairs never speed a job up, so the factors here are made up: some above
    1, some pairs forbidden (``None``), keyed by the job types and the GPU type."""
    import random

    from optsched.io import read_instance
    from optsched.problems.placement.bounds import best_normalised

    inst = read_instance(examples.parent / "placement-medium" / "gavel-place-24:24:16-48j-s0.json")
    assert inst.space_sharing
    rng = random.Random(3)
    made_up: dict = {}

    def factor(job_type, partner, gpu_type, k):
        key = (job_type, partner, gpu_type, k)
        if key not in made_up:
            made_up[key] = None if rng.random() < 0.2 else rng.uniform(0.5, 1.5)
        return made_up[key]

    model = inst.model
    monkeypatch.setattr(model, "interference", factor)
    got = best_normalised(inst)
    raised = 0
    for a in inst.jobs:
        pools = inst.pools[a.id]
        alone = max(
            [1.0] + [model.fastest(a.job_type, t, a.num_gpus) / inst.reference[a.id] for t in pools]
        )
        best = 1.0
        for b in inst.jobs:
            if b.id != a.id and b.num_gpus == a.num_gpus:
                for t in set(pools) & set(inst.pools[b.id]):
                    f = factor(a.job_type, b.job_type, t, a.num_gpus)
                    g = factor(b.job_type, a.job_type, t, a.num_gpus)
                    if f is not None and g is not None:
                        best = max(best, f)
        assert got[a.id] == pytest.approx(alone * best, rel=1e-12)
        raised += best > 1.0
    assert 0 < raised < len(inst.jobs)  # partners raise some jobs' bounds, not all
