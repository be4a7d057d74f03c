"""The synchronisation strategy as a decision: hand-derived winners, and placement
solutions that record and are scored by their strategy."""

import pytest

from optsched.errors import InputError
from optsched.model import homogeneous
from optsched.problems import check
from optsched.problems.placement import Job, PlacementInstance, PlacementSolution
from optsched.solve import solve
from optsched.throughput import Catalog, JobType, ThroughputModel, default_catalog

# a parametric job: 1 s of compute per iteration on one GPU, 1 GB of gradient, no overlap
BIG = JobType("big", {"v100": 1.0}, 1e9)


def model(cluster, **kw):
    catalog = Catalog({}, default_catalog().table).extended([BIG])
    return ThroughputModel(cluster, catalog, **kw)


def test_one_eight_gpu_server_keeps_the_ring():
    m = model(homogeneous(1, 1, 8, "v100"), strategy="best")
    gpus = list(range(8))
    assert m.strategy_for("big", gpus) == "ring"
    # ring over NVLink: 2 * 7/8 * 1 GB / 150 GB/s
    assert m.isolated("big", gpus) == pytest.approx(8 / (1 + 2 * 7 / 8 / 150))


def test_sixteen_one_gpu_servers_with_spare_cpu_servers_take_byteps():
    cluster = homogeneous(1, 16, 1, "v100", nic_bandwidth=1.25)
    gpus = list(range(16))
    ring = model(cluster)
    best = model(cluster, strategy="best", spare_cpu_servers=16)
    # BytePS with as many CPU servers as GPU servers: each NIC moves M once, M / B;
    # the ring moves 2 (N-1)/N M
    assert best.strategy_for("big", gpus) == "byteps"
    assert best.isolated("big", gpus) == pytest.approx(16 / (1 + 1 / 1.25))
    assert ring.isolated("big", gpus) == pytest.approx(16 / (1 + 2 * 15 / 16 / 1.25))
    # without spare servers BytePS is an all-reduce: the ring stays
    assert model(cluster, strategy="best").strategy_for("big", gpus) == "ring"


def test_two_servers_of_four_take_the_hierarchical_all_reduce():
    cluster = homogeneous(1, 2, 4, "v100", nic_bandwidth=1.25)
    m = model(cluster, strategy="best")
    gpus = list(range(8))
    # reduce-scatter over NVLink, then the shards over the NIC: 2 (n-1)/n M / B with n = 2
    hier = 2 * 3 / 4 / 150 + 2 * 1 / 2 / 1.25
    assert m.strategy_for("big", gpus) == "hierarchical"
    assert m.isolated("big", gpus) == pytest.approx(8 / (1 + hier))
    # forcing the ring gives the ring's time
    assert m.isolated("big", gpus, "ring") == pytest.approx(8 / (1 + 2 * 7 / 8 / 1.25))


def test_ring_rule_allows_only_the_ring():
    m = model(homogeneous(1, 2, 4, "v100"))
    gpus = list(range(8))
    assert m.strategy_for("big", gpus) == "ring"
    assert m.strategies("big", gpus) == ("ring",)
    with pytest.raises(InputError, match="strategy 'hierarchical' does not apply"):
        m.isolated("big", gpus, "hierarchical")
    with pytest.raises(InputError, match="strategy must be one of ring, best, got 'fast'"):
        model(homogeneous(1, 1, 2, "v100"), strategy="fast")


def _instance(**kw):
    cluster = homogeneous(1, 2, 4, "v100", nic_bandwidth=1.25)
    return PlacementInstance("s", cluster, (Job("a", "big", 8),), job_types=(BIG,), **kw)


def test_placement_records_and_checks_the_strategy():
    inst = _instance(strategy="best")
    again = PlacementInstance.from_dict(inst.to_dict())
    assert again.strategy == "best" and again == inst
    r = solve(inst, "first_fit")
    assert r.solution.strategies == {"a": "hierarchical"}
    hier = 8 / (1 + 2 * 3 / 4 / 150 + 2 * 1 / 2 / 1.25)
    ref = inst.reference["a"]
    assert r.objective == pytest.approx(hier / ref)
    assert PlacementSolution.from_dict(r.solution.to_dict()) == r.solution
    # a solution may pick a slower strategy; it is scored as such
    ring = check(inst, PlacementSolution(r.solution.assignment, {"a": "ring"}))
    assert ring.feasible and ring.objective == pytest.approx(8 / (1 + 1.75 / 1.25) / ref)
    # BytePS needs spare CPU servers; a ring instance allows only the ring
    for bad_inst, name in ((inst, "byteps"), (_instance(), "hierarchical")):
        report = check(bad_inst, PlacementSolution(r.solution.assignment, {"a": name}))
        assert "strategy_not_valid" in {v.kind for v in report.violations}
    # the exact models' rates do not see the split over servers: they decline
    assert solve(inst, "cpsat").status.value == "unsupported"
    assert solve(_instance(), "cpsat").status.value == "optimal"
