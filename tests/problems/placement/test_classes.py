"""Placement over server classes: its bound is proven, its unfolding realises the classes'
choice where nothing fragments, and says what fragmentation cost where it does."""

import pytest
from helpers import assert_optimal

from optsched.core import Status
from optsched.model import gavel, homogeneous
from optsched.problems import check
from optsched.problems.placement import Job, PlacementInstance, PlacementSolution
from optsched.solve import solve
from optsched.throughput import gavel_table

R18 = "ResNet-18 (batch size 64)"
R50 = "ResNet-50 (batch size 32)"
LM = "LM (batch size 20)"
TF = "Transformer (batch size 64)"


def classes(instance):
    return solve(instance, "classes", time_limit=60, workers=1, seed=0)


def test_classes_count_units_needing_a_server_of_their_own():
    # 2 servers x 3 V100 in one rack; three 2-GPU jobs: GPUs suffice (6), but a 2-GPU
    # unit needs more than half a server, so at most two run on one server each and
    # the third spreads 1 + 1. Spreading the Transformer costs least (Gavel: 2 GPUs
    # unconsolidated / consolidated 7.01/15.88): optimum 2 + 0.441, as the full model.
    jobs = (Job("r18", R18, 2), Job("lm", LM, 2), Job("tf", TF, 2))
    inst = PlacementInstance("loc", homogeneous(1, 2, 3, "v100"), jobs)
    t = gavel_table()
    spread = t.unconsolidated[(TF, "v100", 2)] / t.isolated[(TF, "v100", 2)]
    got = classes(inst)
    assert_optimal(got, 2 + spread)
    tf = got.solution.assignment["tf"]
    assert len({g // 3 for g in tf}) == 2  # unfolded at its level: over both servers
    assert got.parameters["unfolded_off_shape"] == 0


def test_classes_match_the_full_model_with_co_location():
    cluster = gavel({"v100": 8, "k80": 4}, gpus_per_server=4)
    jobs = (
        Job("a", R50, 4),
        Job("b", R18, 1),
        Job("c", LM, 1),
        Job("d", R50, 2, 2.0, ("k80",)),
        Job("e", R18, 2),
        Job("f", LM, 2, 3.0),
        Job("g", R18, 1, 2.0),
    )
    inst = PlacementInstance("p", cluster, jobs, space_sharing=True)
    full = solve(inst, "cpsat", time_limit=60, workers=1, seed=0)
    assert full.status is Status.OPTIMAL
    assert_optimal(classes(inst), full.objective)


def test_fragmentation_is_paid_for_and_the_bound_stays_proven():
    # 2 servers x 4 GPUs: 3 + 3 + 2 GPUs fill the type's 8 exactly, so the classes put
    # all three on one server each (bound 3). Unfolded, the 3-GPU jobs take a server
    # each and the 2-GPU job finds one free GPU on each: it runs spread (LM, 2 GPUs
    # unconsolidated / consolidated), one job off its shape.
    from optsched.problems.placement.classes import CountModel, unfold
    from optsched.problems.placement.formulation import Formulation
    from optsched.solvers import cpsat
    from optsched.solvers.common import SolveOptions

    jobs = (Job("a", R18, 3), Job("b", R18, 3), Job("c", LM, 2))
    inst = PlacementInstance("frag", homogeneous(1, 2, 4, "v100"), jobs)
    f = Formulation(inst)
    model = CountModel(f)
    widen = model.objective()
    solver, status = cpsat.run(model.m, SolveOptions(workers=1))
    assert status is Status.OPTIMAL
    assert (solver.best_objective_bound + widen) / 1e9 == pytest.approx(3.0, rel=1e-6)
    placed, moved = unfold(f, *model.choice(solver.value))
    t = gavel_table()
    lm_spread = t.unconsolidated[(LM, "v100", 2)] / t.isolated[(LM, "v100", 2)]
    report = check(inst, placed)
    assert report.feasible and moved == 1
    assert report.objective == pytest.approx(2 + lm_spread, rel=1e-6)
    # every placement of the round is below the classes' bound, e.g. c packed, b spread
    other = check(inst, PlacementSolution({"a": (0, 1, 2), "c": (4, 5), "b": (3, 6, 7)}))
    assert other.feasible and other.objective <= 3.0
    # the method then lets the full model finish from the unfolding: the full optimum,
    # proven, between the unfolding and the classes' bound
    full = solve(inst, "cpsat", time_limit=60, workers=1, seed=0)
    got = classes(inst)
    assert got.parameters["unfolded_off_shape"] == 1 and got.parameters["finished_by_full_model"]
    assert_optimal(got, full.objective)
    assert report.objective <= full.objective <= 3.0


@pytest.mark.parametrize("objective", ["weighted_throughput", "gpus_used", "min_throughput"])
def test_jobs_alike_as_counts_match_the_full_model(objective):
    # seven jobs asking 8 GPUs of 6 V100s: pairs of one kind (two of a class on one
    # GPU) and of two kinds compete; weights break the symmetry
    cluster = gavel({"v100": 6}, gpus_per_server=2)
    jobs = (
        *(Job(f"r{i}", R18, 1) for i in range(4)),
        *(Job(f"l{i}", LM, 1, 2.0) for i in range(2)),
        Job("big", R50, 2, 3.0),
    )
    inst = PlacementInstance("alike", cluster, jobs, space_sharing=True, objective=objective)
    full = solve(inst, "cpsat", time_limit=60, workers=1, seed=0)
    assert full.status is Status.OPTIMAL
    got = classes(inst)
    assert full.objective > 0
    assert_optimal(got, full.objective)
    assert "counts" in got.parameters["model"] or objective == "min_throughput"


@pytest.mark.parametrize("seed", range(6))
def test_classes_bound_holds_and_meets_the_full_optimum_on_random_rounds(seed):
    # Gavel's job mix (gangs 1, 2, 4 and 8, its own size distribution) on 4-GPU
    # servers: sizes divide the servers, so the unfolding meets the classes' optimum
    from optsched.problems.placement.generate import gavel_placement

    inst = gavel_placement(8, {"v100": 8, "p100": 4, "k80": 4}, seed)
    full = solve(inst, "cpsat", time_limit=60, workers=1, seed=0)
    got = classes(inst)
    assert full.status is Status.OPTIMAL and got.status is Status.OPTIMAL
    assert got.objective == pytest.approx(full.objective, rel=1e-6)
