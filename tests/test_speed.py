"""Speed benchmarks (pytest-benchmark). Skipped in the default run; run them with

    python -m pytest tests/test_speed.py --benchmark-only

Each times one hot path on a large instance; no assertion depends on time.
"""

import pytest

from optsched.problems.hopper import HopperSolution
from optsched.problems.hopper import check as check_hopper
from optsched.problems.hopper.generate import cerebro_fig6
from optsched.problems.hopper.heuristics import dense_greedy, randomized
from optsched.problems.placement import check as check_placement
from optsched.problems.placement.generate import gavel_placement
from optsched.problems.placement.heuristics import density_greedy


@pytest.fixture(scope="module")
def big_hopper():
    return cerebro_fig6(1024, 64, True, 0)


@pytest.fixture(scope="module")
def big_placement():
    return gavel_placement(200, {"v100": 96, "p100": 96, "k80": 64}, 0)


def test_hopper_checker_65k_units(benchmark, big_hopper):
    sol = HopperSolution(tuple(map(tuple, dense_greedy(big_hopper.times))))
    report = benchmark(check_hopper, big_hopper, sol)
    assert report.feasible


def test_hopper_dense_greedy_65k_units(benchmark, big_hopper):
    starts = benchmark(dense_greedy, big_hopper.times)
    assert len(starts) == 1024


def test_hopper_randomized_65k_units(benchmark, big_hopper):
    sol = benchmark.pedantic(randomized, args=(big_hopper, 0), rounds=1, iterations=1)
    assert check_hopper(big_hopper, sol).feasible


def test_placement_greedy_and_checker_200_jobs(benchmark, big_placement):
    def run():
        return check_placement(big_placement, density_greedy(big_placement))

    assert benchmark(run).feasible
