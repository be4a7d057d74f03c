"""Gavel's allocation LPs: optima derived by hand, Gavel's published objectives, the
exactness of the class aggregation, and the allocation checker."""

import json

import numpy as np
import pytest

from optsched.allocation import POLICIES, AllocJob, AllocProblem, allocate, check, gavel_input
from optsched.throughput import gavel_table


def two_jobs(steps=(2.0, 1.0)):
    # A runs at 2 it/s on the V100 and 1 on the K80; B at 1 on both; one GPU of each
    rates = {("A", "v100"): 2.0, ("A", "k80"): 1.0, ("B", "v100"): 1.0, ("B", "k80"): 1.0}
    jobs = (AllocJob("a", "A", 1, 1.0, steps[0]), AllocJob("b", "B", 1, 1.0, steps[1]))
    return AllocProblem(jobs, {"v100": 1, "k80": 1}, lambda jt, k, t: rates[(jt, t)])


@pytest.mark.parametrize(
    "policy, optimum",
    [
        # T^eq_A = (2 + 1) / 2 = 1.5, T^eq_B = 1. B can never exceed 1 it/s (its time
        # sums to at most 1), and A alone on the V100 gets 2 / 1.5 > 1: optimum 1.
        ("max_min_fairness_perf", 1.0),
        # agnostic: every rate 1, two GPUs for two jobs: each gets a whole GPU
        ("max_min_fairness", 1.0),
        # A on the V100 (2) and B on the K80 (1)
        ("max_sum_throughput", 3.0),
        # R = (2, 1): A on the V100 and B on the K80 both finish at T = 1
        ("min_total_duration", 1.0),
        # isolated share: half of each type, T^iso = (1.5, 1); rho = T^iso / thr, and
        # B's throughput is at most 1, so rho_B >= 1, met by A on V100, B on K80
        ("finish_time_fairness", 1.0),
    ],
)
def test_two_jobs_two_types_by_hand(policy, optimum):
    a = allocate(two_jobs(), policy)
    assert a.objective == pytest.approx(optimum, rel=1e-7)


def test_packing_a_pair_on_one_gpu_by_hand():
    # One V100, A and B share it at factors fA, fB (Gavel's measured ResNet-18 bs64
    # next to ResNet-50 bs64). With alone fractions xA, xB and pair time p:
    # xA + xB + p <= 1 (the pair's GPU counted once). B gains more by sharing, so
    # xB = 0 and both normalised throughputs meet: 1 - p + fA p = fB p, so
    # p = 1 / (1 + fB - fA) and the optimum is fB / (1 + fB - fA), above 1/2.
    r18, r50 = "ResNet-18 (batch size 64)", "ResNet-50 (batch size 64)"
    table = gavel_table()
    iso = {jt: table.isolated[(jt, "v100", 1)] for jt in (r18, r50)}
    fa = table.colocated[(r18, r50, "v100", 1)][0] / iso[r18]
    fb = table.colocated[(r50, r18, "v100", 1)][0] / iso[r50]

    def pair(a, b, k, t):
        got = table.colocated[(a, b, t, k)]
        return got[0], got[1]

    p = AllocProblem(
        (AllocJob("a", r18), AllocJob("b", r50)),
        {"v100": 1},
        lambda jt, k, t: iso[jt],
        pair,
    )
    a = allocate(p, "max_min_fairness_packed")
    assert a.objective == pytest.approx(fb / (1 + fb - fa), rel=1e-7)
    assert a.objective > allocate(p, "max_min_fairness_perf").objective == pytest.approx(0.5)


@pytest.mark.parametrize("policy", ["max_min_fairness_perf", "max_sum_throughput"])
def test_allowed_gpu_types_bind_inside_the_lp(policy):
    # Two jobs of one type that runs at 2 it/s on the V100 and 1 on the K80, one
    # GPU of each, but A may use only the K80 and B only the V100: A gets the K80
    # and B the V100, nothing else (without the restriction A would take V100 time);
    # the sum of throughputs is 1 + 2 = 3.
    rates = {"v100": 2.0, "k80": 1.0}
    jobs = (
        AllocJob("a", "J", gpu_types=("k80",)),
        AllocJob("b", "J", gpu_types=("v100",)),
    )
    for lp in ("plain", "incremental"):
        p = AllocProblem(jobs, {"v100": 1, "k80": 1}, lambda jt, k, t: rates[t])
        if lp == "plain":
            a = allocate(p, policy)
        else:
            from optsched.allocation.lp import RoundLP

            a = RoundLP(policy).allocate(p)
        assert a.share(0) == pytest.approx({"v100": 0.0, "k80": 1.0})
        assert a.share(1) == pytest.approx({"v100": 1.0, "k80": 0.0})
        assert not check(a)
    if policy == "max_sum_throughput":
        assert a.objective == pytest.approx(3.0)


@pytest.mark.parametrize("n, published", [(256, 1.1060718), (512, 1.1078288), (1024, 1.1050263)])
def test_packed_max_min_fairness_matches_gavels_objective(n, published):
    # Gavel's own runs of sweep_policy_runtimes.py, seed 2 (its README), to 1e-6
    a = allocate(gavel_input(n, 2), "max_min_fairness_packed")
    assert abs(a.objective - published) < 1e-6


@pytest.mark.parametrize("policy", sorted(POLICIES))
def test_the_class_aggregation_is_exact(policy):
    # one row per job (and per pair of jobs) against one per class of alike jobs
    p = gavel_input(16, 3)
    a, b = allocate(p, policy), allocate(p, policy, aggregate=False)
    assert a.objective == pytest.approx(b.objective, rel=1e-7)


@pytest.mark.parametrize(
    "policy", ["max_min_fairness", "max_min_fairness_perf", "max_sum_throughput"]
)
def test_rows_by_class_counts_are_the_allocation(policy):
    # A simulator that keeps its jobs' classes asks for rows by class counts: the same
    # optimum as the per-job allocation, every job of a class on its class's row.
    from optsched.allocation.lp import RoundLP

    p = gavel_input(64, 2)
    full = allocate(p, policy)
    lp = RoundLP(policy)
    kind = (lambda j: "") if policy == "max_min_fairness" else (lambda j: j.job_type)
    counts = {}
    for j in p.jobs:
        key = (kind(j), j.scale, j.weight, j.gpu_types)
        counts[key] = counts.get(key, 0) + 1
    rows = lp.rows(counts, p)
    assert lp.objective == pytest.approx(full.objective, rel=1e-7)
    used = sum(counts[k] * k[1] * row for k, row in rows.items())
    assert (used <= np.array([p.gpus[t] for t in p.types]) + 1e-9).all()
    assert all(row.sum() <= 1 + 1e-9 for row in rows.values())
    # a second call with the same counts is the memoised solve: the same rows
    again = lp.rows(counts, p)
    assert all(np.array_equal(again[k], rows[k]) for k in rows)


def test_pop_splits_and_reports_its_loss():
    p = gavel_input(64, 2)
    exact = allocate(p, "max_min_fairness_perf")
    split = allocate(p, "max_min_fairness_perf", pop=4, seed=1)
    assert split.parts == 4 and split.objective <= exact.objective + 1e-9
    with pytest.raises(Exception, match="--pop with space sharing"):
        allocate(p, "max_min_fairness_packed", pop=2)


def test_the_checker_catches_an_overbooked_allocation():
    a = allocate(two_jobs(), "max_sum_throughput")
    assert check(a) == []
    a.single = a.single + np.array([[0.0, 0.5], [0.0, 0.0]])  # A gets 1.5 of its time
    bad = check(a)
    assert any("of its time" in b for b in bad) and any("GPUs of 1" in b for b in bad)


def test_cli_allocate(capsys):
    from optsched.cli import main

    assert main(["allocate", "--policy", "max_min_fairness_packed", "--gavel-input", "256",
                 "--json"]) == 0  # fmt: skip
    out = json.loads(capsys.readouterr().out)
    assert abs(out["objective"] - 1.1060718) < 1e-6
    assert out["jobs"] == 256 and out["gpus"] == {"v100": 64, "p100": 64, "k80": 64}
    assert out["wall_s"] > 0 and out["peak_rss_mb"] > 0
    assert main(["allocate", "--policy", "max_min_fairness"]) == 2
    assert "give --gavel-input N" in capsys.readouterr().err
