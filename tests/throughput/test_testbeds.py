"""Testbed presets: the shipped numbers are the fit's, and the fit predicts held-out data."""

import math

import numpy as np
import pytest

from optsched.errors import InputError
from optsched.model import Cluster, pollux
from optsched.model.testbeds import GAVEL, POLLUX, TESTBEDS
from optsched.throughput import Catalog, JobType, ThroughputModel, default_catalog
from optsched.throughput import testbeds as tb
from optsched.throughput.comm import ring_allreduce_time


def close(a: float, b: float) -> bool:
    """Equal to the four significant digits the presets ship (or both ~0)."""
    return math.isclose(a, b, rel_tol=1e-3, abs_tol=1e-9)


@pytest.mark.parametrize("name", sorted(TESTBEDS))
def test_shipped_presets_are_the_fit(name):
    shipped, refit = TESTBEDS[name], tb.fit(name)
    for field in ("network", "allreduce_latency", "two_server_factor", "overlap_other"):
        assert close(getattr(shipped, field), getattr(refit, field)), field
    for group in ("overlap", "contention"):
        got, want = getattr(shipped, group), getattr(refit, group)
        assert set(got) == set(want), group
        for model in got:
            assert close(got[model], want[model]), (group, model)


def test_pollux_leave_one_model_out_halves_the_one_bandwidth_error():
    r = tb.pollux_rows()
    pred, folds = tb.pollux_held_out()
    errors = np.abs(r.step / pred - 1)
    assert len(r) == 5485 and set(folds) == set(POLLUX.overlap)
    # the target: half of one fitted bandwidth's 23.1%
    assert errors.mean() < 0.1155
    assert errors[r.nodes > 1].mean() < 0.1155
    # a fold has one overlap for every model (the held-out one's is not identifiable)
    assert len(set(folds["bert"].overlap.values())) == 1


def test_gavel_leave_one_entry_out_beats_the_spec_sheet():
    r = tb.gavel_rows()
    held = np.abs(tb.gavel_held_out() / r.measured - 1).mean()
    spec = GAVEL.with_fit(network=1.25, overlap={}, overlap_other=0.0)
    assert len(r) == 165
    assert held < 0.115 < np.abs(tb.gavel_predict(r, spec) / r.measured - 1).mean()


def test_the_throughput_model_computes_what_was_fitted():
    r = tb.pollux_rows()
    for i, model in enumerate(POLLUX.overlap):
        got = tb.pollux_through_model(r, POLLUX, model)
        assert got == pytest.approx(tb.pollux_predict(r, POLLUX)[r.model == i], rel=1e-12)


def test_pollux_cluster_step_time_by_hand():
    cluster = pollux(2)
    assert cluster.allreduce_latency == POLLUX.allreduce_latency
    assert cluster.two_server_factor == POLLUX.two_server_factor
    jt = JobType("m", {"t4": 0.5}, 4e8, overlap=0.25, contention=0.1)
    m = ThroughputModel(cluster, Catalog({}, default_catalog().table).extended([jt]))
    # one GPU on each node: c' = 0.5, ring over the fitted network, x f2, plus L
    ring = ring_allreduce_time(4e8, 2, POLLUX.network)
    comm = ring * POLLUX.two_server_factor + POLLUX.allreduce_latency
    assert m.isolated("m", [0, 4]) == pytest.approx(2 / (0.5 + comm - 0.25 * 0.5))
    # three GPUs on one node: PCIe ring, compute slowed by 2 x 10%
    c3 = 0.5 * 1.2
    comm3 = ring_allreduce_time(4e8, 3, 15.75) + POLLUX.allreduce_latency
    assert m.isolated("m", [0, 1, 2]) == pytest.approx(3 / (c3 + max(0, comm3 - 0.25 * c3)))
    # overlap hides everything: the step is the (slowed) compute
    hidden = JobType("h", {"t4": 10.0}, 4e6, overlap=1.0)
    mh = ThroughputModel(cluster, Catalog({}, default_catalog().table).extended([hidden]))
    assert mh.isolated("h", [0, 4]) == pytest.approx(2 / 10.0)


def test_cluster_network_facts_round_trip_and_reject_bad_values():
    c = pollux(3)
    again = Cluster.from_dict(c.to_dict())
    assert again == c and again.two_server_factor == POLLUX.two_server_factor
    # defaults are not written, so older cluster files read and write unchanged
    plain = Cluster.from_dict({**c.to_dict(), "allreduce_latency": 0.0, "two_server_factor": 1.0})
    assert "allreduce_latency" not in plain.to_dict()
    with pytest.raises(InputError, match="two_server_factor must be > 0, got 0"):
        Cluster.from_dict({**c.to_dict(), "two_server_factor": 0})
    with pytest.raises(InputError, match="allreduce_latency must be >= 0"):
        Cluster.from_dict({**c.to_dict(), "allreduce_latency": -1})


def test_job_type_contention_round_trips_and_is_checked():
    jt = JobType("x", {"t4": 1.0}, 1.0, contention=0.2)
    assert JobType.from_dict(jt.to_dict()) == jt
    assert "contention" not in JobType("y", {"t4": 1.0}, 1.0).to_dict()
    with pytest.raises(InputError, match="contention must be >= 0"):
        JobType("x", {"t4": 1.0}, 1.0, contention=-0.1)


def test_gavel_types_carry_their_family_overlap():
    cat = default_catalog()
    assert cat["ResNet-18 (batch size 64)"].overlap == GAVEL.overlap["ResNet-18"]
    assert cat["LM (batch size 20)"].overlap == GAVEL.overlap["LM"]
    assert cat["A3C"].overlap == GAVEL.overlap_other  # never measured spread
