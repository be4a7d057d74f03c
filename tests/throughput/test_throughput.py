import math

import pytest

from optsched.errors import InputError
from optsched.model import homogeneous
from optsched.model.testbeds import GAVEL
from optsched.throughput import JobType, ThroughputModel, default_catalog, gavel_table
from optsched.throughput.comm import ring_allreduce_time

R50 = "ResNet-50 (batch size 32)"
R18 = "ResNet-18 (batch size 64)"
LM = "LM (batch size 20)"


def test_gavel_table_values_and_shape():
    t = gavel_table()
    assert len(t.job_types) == 26
    # values quoted in shared/data/gavel/README.md
    assert t.isolated[("LM (batch size 20)", "v100", 8)] == pytest.approx(497.3, abs=0.05)
    assert t.unconsolidated[("LM (batch size 20)", "v100", 8)] == pytest.approx(58.9, abs=0.05)
    assert t.scale_factors("A3C") == (1,)
    assert t.scale_factors(R50) == (1, 2, 4, 8)
    # multi-GPU pairs are all [0, 0] in Gavel's table: none are kept
    assert all(k[3] == 1 for k in t.colocated)


def test_measured_values_come_first(small_gavel):
    m = ThroughputModel(small_gavel)
    t = gavel_table()
    assert m.isolated(R50, [0, 1, 2, 3]) == t.isolated[(R50, "v100", 4)]
    # two servers in one rack: min(consolidated, unconsolidated), both measured
    expected = min(t.isolated[(R50, "v100", 4)], t.unconsolidated[(R50, "v100", 4)])
    assert m.isolated(R50, [0, 1, 4, 5]) == expected
    assert m.locality_factor(R50, [0, 1, 2, 3]) == 1.0
    assert m.locality_factor(R50, [0, 1, 4, 5]) == pytest.approx(
        expected / t.isolated[(R50, "v100", 4)]
    )


def test_locality_off_gives_consolidated(small_gavel):
    m = ThroughputModel(small_gavel, locality=False)
    assert m.isolated(R50, [0, 1, 4, 5]) == gavel_table().isolated[(R50, "v100", 4)]


def test_cross_rack_costs_the_ring_over_the_uplink():
    # 2 racks x 2 servers x 4 V100; uplink 2*12.5/4 = 6.25 GB/s < NIC 12.5 GB/s
    c = homogeneous(2, 2, 4, "v100", oversubscription=4.0)
    m = ThroughputModel(c)
    t = gavel_table()
    jt = default_catalog()[R50]
    k = 4
    anchor = min(t.isolated[(R50, "v100", k)], t.unconsolidated[(R50, "v100", k)])
    # Only the all-reduce time the compute does not hide counts: ResNet-50's fitted
    # overlap hides 0.1893 of its one-GPU step.
    assert jt.overlap == GAVEL.overlap["ResNet-50"] == 0.1893
    hidden = jt.overlap * jt.compute_time["v100"]
    extra = max(0.0, ring_allreduce_time(jt.model_bytes, k, 6.25) - hidden) - max(
        0.0, ring_allreduce_time(jt.model_bytes, k, 12.5) - hidden
    )
    assert m.isolated(R50, [0, 1, 8, 9]) == pytest.approx(k / (k / anchor + extra))
    assert m.isolated(R50, [0, 1, 8, 9]) < m.isolated(R50, [0, 1, 4, 5])


def test_unmeasured_scale_interpolates_efficiency_in_log2(small_gavel):
    m = ThroughputModel(small_gavel)
    t = gavel_table()
    one = t.isolated[(R50, "v100", 1)]
    e2 = t.isolated[(R50, "v100", 2)] / (2 * one)
    e4 = t.isolated[(R50, "v100", 4)] / (4 * one)
    w = math.log2(3) - 1
    assert m.isolated(R50, [0, 1, 2]) == pytest.approx(3 * one * ((1 - w) * e2 + w * e4))


def test_parametric_job_type_by_hand():
    c = homogeneous(1, 2, 2, "t4", nic_bandwidth=1.25)
    jt = JobType("toy", {"t4": 0.1}, model_bytes=1e9)
    m = ThroughputModel(c, default_catalog().extended([jt]))
    # 4 GPUs over two servers: ring = 2*3/4 * 1e9 B / 1.25e9 B/s = 1.2 s
    assert m.isolated("toy", [0, 1, 2, 3]) == pytest.approx(4 / (0.1 + 1.2))
    # packed on one server: ring over PCIe 15.75 GB/s = 2*1/2 * 1e9 / 15.75e9
    assert m.isolated("toy", [0, 1]) == pytest.approx(2 / (0.1 + 1 / 15.75))
    half = JobType("overlapped", {"t4": 0.1}, model_bytes=1e9, overlap=0.5)
    m2 = ThroughputModel(c, default_catalog().extended([half]))
    assert m2.isolated("overlapped", [0, 1, 2, 3]) == pytest.approx(4 / (0.1 + 1.2 - 0.05))


def test_unmeasured_gpu_type_scales_by_tflops():
    jt = default_catalog()[R18]
    # T4 (8.1 TFLOPS) is nearest in log-TFLOPS to P100 (9.3)
    assert jt.compute_on("t4") == pytest.approx(jt.compute_time["p100"] * 9.3 / 8.1)
    assert JobType("x", {"mystery": 1.0}, 0.0).compute_on("v100") is None


def test_interference_is_measured_ratio(small_gavel):
    m = ThroughputModel(small_gavel)
    t = gavel_table()
    pair = t.colocated[(LM, R18, "v100", 1)]
    f = m.interference(LM, R18, "v100", 1)
    assert f == pytest.approx(pair[0] / t.isolated[(LM, "v100", 1)])
    assert m.throughput(LM, [0], R18) == pytest.approx(pair[0])


def test_unmeasured_pairs_by_mode(small_gavel):
    t = gavel_table()
    # no multi-GPU pair is measured: by default a k-GPU pair takes its 1-GPU factor
    one = t.colocated[(R50, R18, "v100", 1)][0] / t.isolated[(R50, "v100", 1)]
    m = ThroughputModel(small_gavel)
    assert m.interference(R50, R18, "v100", 2) == pytest.approx(one)
    assert m.throughput(R50, [0, 1], R18) == pytest.approx(one * m.isolated(R50, [0, 1]))
    # a pair recorded as not fitting on one GPU may not share at any size
    big = "ResNet-50 (batch size 128)"
    (a, b, g) = next(z for z in sorted(t.unavailable) if z[0] == big and z[2] == "k80")
    assert (a, b, g, 1) not in t.colocated
    assert m.interference(a, b, g, 1) is None and m.interference(a, b, g, 4) is None
    # forbid: only measurements; a constant: every unmeasured pair
    forbid = ThroughputModel(small_gavel, unmeasured_interference="forbid")
    assert forbid.interference(R50, R18, "v100", 2) is None
    with pytest.raises(InputError, match="cannot share GPUs"):
        forbid.throughput(R50, [0, 1], R50)
    m2 = ThroughputModel(small_gavel, unmeasured_interference=0.6)
    assert m2.throughput(R50, [0, 1], R50) == pytest.approx(0.6 * m2.isolated(R50, [0, 1]))
    assert m2.interference(a, b, g, 1) == 0.6
    for bad in (0, 1.5, "sometimes", None, True):
        with pytest.raises(InputError, match="unmeasured_interference must be fitted, forbid"):
            ThroughputModel(small_gavel, unmeasured_interference=bad)


def test_fitted_interference_predicts_a_pair_it_never_saw(small_gavel):
    from optsched.throughput.interference import fit_pairs, measured_factors

    t = gavel_table()
    factors = measured_factors(t, "p100")
    a, b = "ResNet-18 (batch size 32)", "Transformer (batch size 64)"
    rest = {ab: f for ab, f in factors.items() if set(ab) != {a, b}}
    fit = fit_pairs("p100", rest)
    # ln f = -(s_a + p_b) is linear: a model built from the pair's own row and column
    # averages predicts it; here within 10% of what Gavel measured
    assert fit.factor(a, b) == pytest.approx(factors[(a, b)], rel=0.10)
    # and exactly reproduces data it was built from when that data is consistent
    s = {"x": 0.1, "y": 0.3}
    p = {"x": 0.2, "y": 0.05}
    exact = {(u, v): math.exp(-(s[u] + p[v])) for u in s for v in p}
    fit = fit_pairs("v100", exact)
    for (u, v), f in exact.items():
        assert fit.factor(u, v) == pytest.approx(f, rel=1e-12)
    # an unknown job type takes the mean sensitivity
    assert fit.factor("z", "x") == pytest.approx(math.exp(-(0.2 + 0.2)), rel=1e-12)


def test_spread_rule_measured_or_no_gain(small_gavel):
    t = gavel_table()
    # an entry Gavel measured faster spread than packed (rule 2)
    (jt, g, k), m1 = next(
        (key, v)
        for key, v in sorted(t.unconsolidated.items())
        if v > t.isolated[key] and key[1] == "v100"
    )
    cluster = homogeneous(1, 2, k, g)
    spread = [0, k] + list(range(1, k - 1))  # two servers of one rack
    measured = ThroughputModel(cluster)
    assert measured.isolated(jt, spread) == pytest.approx(m1)
    assert measured.fastest(jt, g, k) == pytest.approx(m1)
    capped = ThroughputModel(cluster, spread="no_gain")
    assert capped.isolated(jt, spread) == pytest.approx(t.isolated[(jt, g, k)])
    assert capped.fastest(jt, g, k) == pytest.approx(t.isolated[(jt, g, k)])
    with pytest.raises(InputError, match="spread must be one of measured, no_gain"):
        ThroughputModel(cluster, spread="min")


def test_reference_is_best_allowed_consolidated(small_gavel):
    m = ThroughputModel(small_gavel)
    t = gavel_table()
    assert m.reference(R50, 2, ["v100", "k80"]) == max(
        t.isolated[(R50, "v100", 2)], t.isolated[(R50, "k80", 2)]
    )
    assert m.reference(R50, 2, ["k80"]) == t.isolated[(R50, "k80", 2)]


def test_job_type_validation():
    with pytest.raises(InputError, match="job type 'x': model_bytes must be >= 0, got -1"):
        JobType("x", {"v100": 1.0}, -1)
    with pytest.raises(InputError, match=r"compute_time\['v100'\] must be > 0"):
        JobType("x", {"v100": 0.0}, 1.0)
    with pytest.raises(InputError, match="overlap must be <= 1"):
        JobType("x", {"v100": 1.0}, 1.0, overlap=2.0)
    with pytest.raises(InputError, match="already exists"):
        default_catalog().extended([JobType(R50, {"v100": 1.0}, 1.0)])
    with pytest.raises(InputError, match="unknown job type 'nope'"):
        default_catalog()["nope"]


def test_validation_report_errors_are_sane():
    from optsched.throughput.validate import report

    rows = {(r["source"], r["variant"], r["model"]): r for r in report()["rows"]}
    assert rows[("gavel", "parametric", "ALL")]["n"] == 165
    assert rows[("pollux", "fitted", "ALL")]["n"] > 5000
    # held-out errors of the model as shipped; a regression here needs a look
    assert rows[("gavel", "parametric", "ALL")]["mape"] < 0.25
    assert rows[("pollux", "fitted", "ALL")]["mape"] < 0.35
    # the testbed presets, held out: Pollux under half of one fitted bandwidth's error,
    # Gavel under the spec sheet's
    assert rows[("pollux", "testbed", "ALL")]["n"] == rows[("pollux", "fitted", "ALL")]["n"]
    assert (
        rows[("pollux", "testbed", "ALL")]["mape"] < rows[("pollux", "fitted", "ALL")]["mape"] / 2
    )
    assert rows[("gavel", "testbed", "ALL")]["mape"] < rows[("gavel", "parametric", "ALL")]["mape"]
    # co-location: every measured factor held out once; the fitted model beats one
    # constant per GPU type and Blox's constants on every GPU type
    assert rows[("gavel-pairs", "fitted", "ALL")]["n"] == 1881
    for g in ("k80", "p100", "v100"):
        fitted = rows[("gavel-pairs", "fitted", g)]["mape"]
        for other in ("constant", "blox-0.6", "blox-0.75", "blox-0.9"):
            assert fitted < rows[("gavel-pairs", other, g)]["mape"]
    assert rows[("gavel-pairs", "fitted", "p100")]["mape"] < 0.10


def test_validation_lists_the_spread_entries_above_packed():
    from optsched.throughput.validate import report

    fast = report()["spread_faster"]
    t = gavel_table()
    above = [k for k, v in t.unconsolidated.items() if v > t.isolated[k]]
    assert fast["count"] == len(above) == 44 and fast["of"] == 165
    top = fast["entries"][0]
    assert top["ratio"] == max(t.unconsolidated[k] / t.isolated[k] for k in above)
    assert top["ratio"] == pytest.approx(1.355, abs=1e-3)
