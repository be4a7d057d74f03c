"""CP-SAT and the MILP agree on random instances of every family."""

import random

import pytest
from helpers import CPSAT, run

from optsched.core import Status
from optsched.model import homogeneous
from optsched.problems.hopper import HopperInstance
from optsched.problems.placement import Job, PlacementInstance
from optsched.problems.spase import SpaseInstance, Task, TaskConfig
from optsched.problems.timeslot import TimeslotInstance, TimeslotJob
from optsched.throughput import gavel_table


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
def test_cpsat_and_milp_agree_on_random_instances(make, backend):
    if backend.method == "cpsat":
        pytest.skip("CP-SAT is the reference here")
    rng = random.Random(20261122)
    for _ in range(8):
        inst = make(rng)
        a = run(inst, CPSAT)
        b = run(inst, backend)
        assert a.status is Status.OPTIMAL and b.status is Status.OPTIMAL, (a.message, b.message)
        assert a.objective == pytest.approx(b.objective, rel=1e-6, abs=1e-9)
