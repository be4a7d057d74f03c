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
    # the exact models choose the strategy with the GPUs
    exact = solve(inst, "cpsat")
    assert exact.status.value == "optimal" and exact.objective == pytest.approx(hier / ref)
    assert exact.solution.strategies == {"a": "hierarchical"}


def _spare_instance(**kw):
    # 4 servers of 2 P100 (PCIe 15.75 GB/s), 1.25 GB/s NICs, 4 spare CPU servers
    cluster = homogeneous(1, 4, 2, "p100", nic_bandwidth=1.25)
    job = JobType("bigp", {"p100": 1.0}, 1e9)
    return PlacementInstance(
        "spare", cluster, (Job("a", "bigp", 4),), job_types=(job,), spare_cpu_servers=4, **kw
    )


def test_byteps_with_spare_servers_spreads_the_job_and_cpsat_finds_it():
    inst = _spare_instance(strategy="best")
    ref = inst.reference["a"]
    # 2 + 2 GPUs: a PCIe ring inside (2 * 1/2 * M / 15.75) plus the BytePS split over
    # 2 GPU servers and 2 CPU servers, 2*2*1 M / ((4 + 4 - 4) 1.25) = M / 1.25
    compact = 4 / (1 + 1 / 15.75 + 1 / 1.25)
    # 1 GPU on each of 4 servers: no ring inside, 2*4*3 M / ((16 + 16 - 8) 1.25) = M / 1.25
    spread = 4 / (1 + 1 / 1.25)
    r = solve(inst, "cpsat", workers=1, seed=0)
    assert r.status.value == "optimal"
    assert r.objective == pytest.approx(spread / ref)
    gpus = r.solution.assignment["a"]
    assert len({inst.cluster.gpu2server[g] for g in gpus}) == 4
    assert r.solution.strategies == {"a": "byteps"}
    assert solve(inst, "first_fit").objective == pytest.approx(compact / ref)
    # under the ring every split over servers costs 2 * 3/4 * M / 1.25
    ring = solve(_spare_instance(), "cpsat", workers=1, seed=0)
    assert ring.objective == pytest.approx(4 / (1 + 1.5 / 1.25) / ref)


@pytest.mark.parametrize("method", ["cpsat", "milp"])
def test_exact_strategy_choice_matches_brute_force(method):
    from itertools import combinations

    inst = _spare_instance(strategy="best")
    m = inst.model
    best = max(m.isolated("bigp", list(g)) for g in combinations(range(8), 4))
    r = solve(inst, method, workers=1, seed=0)
    assert r.status.value == "optimal"
    assert r.objective == pytest.approx(best / inst.reference["a"])


@pytest.mark.parametrize("method", ["cpsat", "milp"])
def test_exact_on_the_pollux_preset_matches_brute_force(method):
    """Two-server rings and contention make rates depend on the split (6 GPUs as 4 + 2
    or 3 + 3 or over three nodes, 5 as 4 + 1, 3 + 2 or 2 + 2 + 1): two jobs on three
    Pollux nodes, every pair of disjoint GPU sets tried."""
    from itertools import combinations

    from optsched.model import pollux
    from optsched.throughput.testbeds import pollux_job_types

    types = {jt.name: jt for jt in pollux_job_types()}
    a, b = types["yolov3 (local batch 8)"], types["bert (local batch 4)"]
    inst = PlacementInstance(
        "pollux", pollux(3), (Job("a", a.name, 6), Job("b", b.name, 5, 2.0)), job_types=(a, b)
    )
    m, ref = inst.model, inst.reference
    best = 0.0
    shapes = set()
    for ga in combinations(range(12), 6):
        va = m.isolated(a.name, list(ga)) / ref["a"]
        rest = [g for g in range(12) if g not in ga]
        vb = max(m.isolated(b.name, list(gb)) for gb in combinations(rest, 5)) / ref["b"]
        shapes.add(round(va, 9))
        best = max(best, va + 2.0 * vb)
    assert len(shapes) >= 3  # the splits of job a really differ
    r = solve(inst, method, workers=1, seed=0)
    assert r.status.value == "optimal"
    assert r.objective == pytest.approx(best, rel=1e-6)


def test_the_simulator_places_with_the_strategy_choice():
    """One job of 4 P100 over 4 two-GPU servers with spare CPU servers: the
    simulator's timeline, checked under the same model, finishes it in the time the
    chosen strategy (BytePS, hand-derived above) implies."""
    from optsched.simulate import SimJob, Workload, simulate

    cluster = homogeneous(1, 4, 2, "p100", nic_bandwidth=1.25)
    job = JobType("bigp", {"p100": 1.0}, 1e9)
    catalog = Catalog({}, default_catalog().table).extended([job])
    work = 1000.0
    w = Workload("one", (SimJob("J", "bigp", 4, work, 0.0),))
    runs = {}
    for strategy in ("ring", "best"):
        m = ThroughputModel(cluster, catalog, strategy=strategy, spare_cpu_servers=4)
        r = simulate(w, cluster, "fifo", model=m, round_seconds=None)
        assert r.check.feasible
        runs[strategy] = r.summary["avg_jct_s"]
    # fifo packs 2 + 2: the ring takes 2 * 3/4 * M / 1.25; BytePS over 2 GPU servers
    # and their 2 CPU servers, a PCIe ring inside plus M / 1.25
    assert runs["ring"] == pytest.approx(work / (4 / (1 + 1.5 / 1.25)))
    assert runs["best"] == pytest.approx(work / (4 / (1 + 1 / 15.75 + 1 / 1.25)))


def test_vgg19_sends_sufficient_factors_for_its_fully_connected_layers():
    """Per layer group (Tiresias's VGG19 tensors): on 2 servers x 4 V100 behind
    1.25 GB/s NICs, the conv tensors all-reduce hierarchically; fc6 and fc7
    broadcast sufficient factors (32 samples per worker, the 4 workers of a server
    sharing its NIC). fc8 (1000 x 4096) is too small for them: 4.57 MB of factors
    at 0.3125 GB/s (14.6 ms) against 16.4 MB hierarchically (13.3 ms). By hand."""
    from optsched.throughput.layers import MIB, tiresias_layers

    layers = tiresias_layers("vgg19")
    vgg = JobType("vgg", {"v100": 1.0}, sum(g.size for g in layers), layers=layers, batch=32)
    cluster = homogeneous(1, 2, 4, "v100", nic_bandwidth=1.25)
    m = ThroughputModel(
        cluster, Catalog({}, default_catalog().table).extended([vgg]), strategy="best"
    )
    gpus = list(range(8))
    assert m.strategy_for("vgg", gpus) == "per_layer"
    chosen = m.layer_strategies("vgg", gpus)
    fcs = [g for g in layers if g.kind == "fc"]
    assert [name for g, name in chosen if g.kind == "fc"] == ["sfb", "sfb", "hierarchical"]
    assert {name for g, name in chosen if g.kind == "dense"} == {"hierarchical"}
    conv = sum(g.size for g in layers if g.kind == "dense")
    assert conv == pytest.approx(75.5 * MIB)  # 1.1 + 3 x 2.3 + 4.5 + 7 x 9; fc6 alone: 392
    per_byte = 2 * 3 / 4 / 150e9 + 2 * 1 / 2 / 1.25e9
    hier = (conv + fcs[2].size) * per_byte
    sfb = sum(32 * 7 * (g.rows + g.cols) * 4 / (1.25e9 / 4) for g in fcs[:2])
    assert 32 * 7 * (1000 + 4096) * 4 / (1.25e9 / 4) > fcs[2].size * per_byte
    assert m.isolated("vgg", gpus) == pytest.approx(8 / (1 + hier + sfb))
    # without the batch, sufficient factors cannot be costed: the whole model goes
    # hierarchical
    no_batch = JobType("vgg", {"v100": 1.0}, vgg.model_bytes, layers=layers)
    m2 = ThroughputModel(
        cluster, Catalog({}, default_catalog().table).extended([no_batch]), strategy="best"
    )
    assert m2.isolated("vgg", gpus) == pytest.approx(
        8 / (1 + vgg.model_bytes * (2 * 3 / 4 / 150e9 + 1 / 1.25e9))
    )


def test_layers_round_trip_and_reject_bad_groups():
    from optsched.throughput.layers import tiresias_layers

    jt = JobType("r", {"v100": 1.0}, 1e8, layers=tiresias_layers("resnet50", 1e8), batch=16)
    assert JobType.from_dict(jt.to_dict()) == jt
    assert default_catalog()["ResNet-50 (batch size 64)"].batch == 64
    with pytest.raises(InputError, match="unknown Tiresias model 'vgg99'"):
        tiresias_layers("vgg99")
    bad = {**jt.to_dict(), "layers": [{"kind": "conv", "bytes": 1.0}]}
    with pytest.raises(InputError, match="kind must be dense, fc or sparse, got 'conv'"):
        JobType.from_dict(bad)
    with pytest.raises(InputError, match="batch must be >= 0, got -1"):
        JobType("x", {"v100": 1.0}, 1.0, batch=-1)


def test_strategies_command_per_layer(capsys):
    import json

    from optsched.cli import main

    def run(capsys, *argv):
        code = main(list(argv))
        out, err = capsys.readouterr()
        return code, out, err

    args = ["throughput", "strategies", "--nodes", "2", "--gpus", "4", "--net", "1.25"]
    code, out, _ = run(
        capsys, *args, "--alpha", "0", "--layers", "vgg19", "--batch", "32", "--json"
    )
    rep = json.loads(out)
    fc = [g["best"] for g in rep["groups"] if g["kind"] == "fc"]
    assert code == 0 and fc == ["sfb", "sfb", "hierarchical"]
    assert rep["per_layer_s"] < rep["whole_model"]["seconds"]
    code, _, err = run(capsys, *args, "--layers", "vgg99")
    assert code == 2 and "invalid choice: 'vgg99'" in err


def test_best_is_never_slower_than_the_ring():
    """On clusters whose links inside a server are slow (where an anchor costed with
    another strategy than the measured ring would go wrong), for measured and
    parametric types and random GPU sets: best >= ring, and forcing the ring under
    best gives the ring model's value."""
    import random

    rng = random.Random(0)
    clusters = [
        homogeneous(2, 2, 8, "v100", link_bandwidth=0.5, nic_bandwidth=0.4),
        homogeneous(2, 3, 4, "p100", nic_bandwidth=1.25, oversubscription=4.0),
    ]
    names = ["ResNet-50 (batch size 16)", "Transformer (batch size 64)", "LM (batch size 20)"]
    for cluster in clusters:
        gpu = cluster.gpu_types[0]
        extra = JobType("bigx", {gpu: 1.0}, 1e9, overlap=0.2)
        catalog = default_catalog().extended([extra])
        ring = ThroughputModel(cluster, catalog)
        best = ThroughputModel(cluster, catalog, strategy="best", spare_cpu_servers=2)
        sets = [[0, 1, 8]] + [
            sorted(rng.sample(range(cluster.num_gpus), rng.choice([2, 3, 4, 6, 8])))
            for _ in range(60)
        ]
        for gpus in sets:
            k = len(gpus)
            for name in [*names, "bigx"]:
                if not ring.runs_on(name, gpu):
                    continue
                r = ring.isolated(name, gpus)
                assert best.isolated(name, gpus) >= r * (1 - 1e-12), (name, gpus)
                assert best.isolated(name, gpus, "ring") == pytest.approx(r, rel=1e-12)
                assert best.fastest(name, gpu, k) >= best.isolated(name, gpus) * (1 - 1e-12)


def test_bounds_hold_when_spreading_pays():
    """Contention (Pollux's CIFAR-10 at local batch 257: 0.07 per extra GPU on a node)
    makes four nodes beat one: the solver-free bound and the exact models agree."""
    from optsched.model import pollux
    from optsched.problems.placement.bounds import upper_bound
    from optsched.throughput.testbeds import pollux_job_types

    jt = next(t for t in pollux_job_types() if t.name == "cifar10 (local batch 257)")
    inst = PlacementInstance("spread", pollux(4), (Job("a", jt.name, 4),), job_types=(jt,))
    m = inst.model
    packed, spread = m.isolated(jt.name, [0, 1, 2, 3]), m.isolated(jt.name, [0, 4, 8, 12])
    assert spread > packed
    assert upper_bound(inst) >= spread / inst.reference["a"]
    for method in ("cpsat", "milp"):
        r = solve(inst, method, workers=1, seed=0)
        assert r.status.value == "optimal"
        assert r.objective == pytest.approx(spread / inst.reference["a"])
    assert solve(inst, "greedy").status.value != "optimal" or (
        solve(inst, "greedy").objective == pytest.approx(spread / inst.reference["a"])
    )


def test_recorded_strategies_the_model_cannot_score_are_rejected():
    from optsched.model import gavel

    r50 = "ResNet-50 (batch size 32)"
    inst = PlacementInstance("m", gavel({"v100": 8}), (Job("a", r50, 4),), strategy="best")
    packed = PlacementSolution({"a": (0, 1, 2, 3)}, {"a": "tree"})
    report = check(inst, packed)  # Gavel measured the packed run: its ring stands
    assert "strategy_not_valid" in {v.kind for v in report.violations}
    assert inst.model.strategies(r50, [0, 1, 2, 3]) == ("ring",)
    flat = PlacementInstance("f", gavel({"v100": 8}), (Job("a", r50, 4),), locality=False)
    report = check(flat, PlacementSolution({"a": (0, 1, 2, 3)}, {"a": "warp-drive"}))
    assert "strategy_not_valid" in {v.kind for v in report.violations}


def test_ties_go_to_the_ring_and_layers_must_cover_the_gradient():
    from optsched.throughput.layers import tiresias_layers

    hidden = JobType("h", {"v100": 100.0}, 1e6, overlap=1.0)
    m = ThroughputModel(
        homogeneous(1, 2, 4, "v100"),
        Catalog({}, default_catalog().table).extended([hidden]),
        strategy="best",
    )
    assert m.strategy_for("h", list(range(8))) == "ring"  # everything hidden: a tie
    with pytest.raises(InputError, match="layers hold .* bytes, model_bytes is 1e\\+08"):
        JobType("x", {"v100": 1.0}, 1e8, layers=tiresias_layers("resnet50"))
    with pytest.raises(InputError, match="rows must be an integer, got 2.5"):
        JobType.from_dict(
            {"name": "y", "compute_time": {"v100": 1.0}, "model_bytes": 1.0,
             "layers": [{"kind": "fc", "rows": 2.5, "cols": 1}]}
        )  # fmt: skip


def test_generate_takes_zero_spare_cpu_servers(tmp_path, capsys):
    from optsched.cli import main

    out = tmp_path / "p.json"
    args = ["generate", "placement", "--source", "synthetic", "--num-jobs", "4"]
    assert main([*args, "--strategy", "best", "--spare-cpu", "0", "-o", str(out)]) == 0
    assert main([*args, "--spare-cpu", "-1", "-o", str(out)]) == 2
    assert "--spare-cpu" in capsys.readouterr().err
