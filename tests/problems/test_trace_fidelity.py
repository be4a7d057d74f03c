"""Generators keep what a trace says, and record what they had to change."""

import json

import numpy as np
import pytest
from helpers import have_data

from optsched import sources
from optsched.cli import main
from optsched.errors import InputError
from optsched.io import instance_from_dict
from optsched.problems.common import window
from optsched.problems.placement.generate import gavel_placement, trace_placement
from optsched.problems.timeslot.generate import trace_timeslot
from optsched.problems.timeslot.heuristics import greedy_srtf
from optsched.sources import TraceJob
from optsched.throughput import ThroughputModel

needs_data = pytest.mark.skipif(not have_data(), reason="raw traces not available")


def _jobs(sizes):
    return tuple(TraceJob(float(i), 100.0 * (i + 1), g) for i, g in enumerate(sizes))


def test_window_counts_what_it_drops():
    jobs = _jobs([1, 16, 2, 1, 32, 4])
    rng = np.random.default_rng(0)
    whole = window(jobs, 6, None, rng)
    assert [j.num_gpus for j in whole.jobs] == [1, 16, 2, 1, 32, 4]
    assert whole.dropped == 0 and whole.gpu_time_dropped == 0.0
    # at most 8 GPUs: the only 4-job window is the whole trace less the 16 and the 32
    cut = window(jobs, 4, 8, np.random.default_rng(0))
    assert [j.num_gpus for j in cut.jobs] == [1, 2, 1, 4]
    assert cut.dropped == 2
    gpu_time = [g * 100.0 * (i + 1) for i, g in enumerate([1, 16, 2, 1, 32, 4])]
    share = (gpu_time[1] + gpu_time[4]) / sum(gpu_time)
    assert cut.gpu_time_dropped == pytest.approx(share)
    with pytest.raises(InputError, match="only 4 jobs of at most 8 GPUs, need 5"):
        window(jobs, 5, 8, rng)


@pytest.mark.parametrize("seed", [4, 10])
def test_synthetic_sizes_fit_the_largest_pool(seed):
    # 8 GPUs in all, but no type has more than 4: every job fits one type
    inst = gavel_placement(48, {"v100": 4, "p100": 4}, seed)
    assert max(j.num_gpus for j in inst.jobs) <= 4


@needs_data
@pytest.mark.parametrize("source", ["philly", "helios", "itp", "gavel"])
def test_timeslot_windows_keep_sizes_durations_and_releases(source):
    inst = trace_timeslot(source, 12, 16, 0)
    # the same window of the trace, every size kept, as the generator draws it
    full = {
        "philly": sources.philly,
        "helios": sources.helios,
        "itp": lambda: sources.itp("cluster03"),
        "gavel": lambda: sources.gavel_msr("6214e9", 0),
    }[source]()
    picked = window(full, 12, None, np.random.default_rng(0)).jobs
    assert [j.num_gpus for j in inst.jobs] == [t.num_gpus for t in picked]
    assert inst.origin["jobs_dropped"] == 0 and inst.origin["source"] == source
    # work is the trace's duration at V100 speed (or its steps), never clipped
    model = ThroughputModel(inst.cluster, locality=False)
    for job, tj in zip(inst.jobs, picked):
        want = (
            tj.work
            if tj.work is not None
            else tj.duration * model.consolidated(job.job_type, "v100", job.num_gpus)
        )
        assert job.work == pytest.approx(max(want, 1.0))
        # releases are the submission times rounded up to a slot: never before them
        offset = tj.arrival - picked[0].arrival
        assert job.release * inst.slot_seconds >= offset - 1e-6 or job.release == 15
        assert job.release == 0 or (job.release - 1) * inst.slot_seconds < offset
    # the horizon is sized so that a schedule is known: greedy SRTF finishes every job
    from optsched.problems.timeslot.checker import check

    assert check(inst, greedy_srtf(inst)).feasible
    assert inst.slot_seconds >= 360.0 and inst.slot_seconds % 60 == 0
    # the largest job fits the (scaled) default cluster
    biggest = max(j.num_gpus for j in inst.jobs)
    assert max(inst.cluster.capacity(t) for t in inst.cluster.gpu_types) >= biggest
    assert inst.origin["largest_job_gpus"] == biggest
    assert instance_from_dict(inst.to_dict()) == inst


@needs_data
def test_timeslot_on_a_given_cluster_records_what_it_drops():
    # Helios has jobs of up to hundreds of GPUs: on 4 GPUs per type some cannot run;
    # the window is the next 40 that can, and the others between them are counted
    inst = trace_timeslot("helios", 40, 16, 0, counts={"v100": 4, "p100": 4, "k80": 4})
    o = inst.origin
    assert len(inst.jobs) == 40 and o["jobs_dropped"] > 0
    assert 0 < o["gpu_time_dropped"] < 1
    assert all(j.num_gpus <= 4 for j in inst.jobs)
    full = sources.helios()
    picked = window(full, 40, 4, np.random.default_rng(0))
    assert o["jobs_dropped"] == picked.dropped


@needs_data
def test_placement_origin_and_info_show_drops(tmp_path, capsys):
    inst = trace_placement("helios", 48, 0)
    assert inst.origin["jobs_dropped"] == 4
    assert 0 < inst.origin["gpu_time_dropped"] < 1
    path = tmp_path / "h.json"
    path.write_text(json.dumps(inst.to_dict()))
    assert main(["info", str(path)]) == 0
    out = capsys.readouterr().out
    assert "origin:" in out and "jobs_dropped: 4" in out
    assert main(["info", "--json", str(path)]) == 0
    assert json.loads(capsys.readouterr().out)["origin"]["jobs_dropped"] == 4


def test_origin_must_be_flat(tmp_path):
    inst = gavel_placement(4, {"v100": 4}, 0)
    d = inst.to_dict()
    d["origin"] = {"source": {"nested": 1}}
    with pytest.raises(InputError, match=r"origin\['source'\] must be a string, number"):
        instance_from_dict(d)
    d["origin"] = [1]
    with pytest.raises(InputError, match="origin must be an object, got list"):
        instance_from_dict(d)
    d["origin"] = {"source": "synthetic", "jobs_dropped": 0}
    assert instance_from_dict(d).origin == {"source": "synthetic", "jobs_dropped": 0}


def _rows(app):
    import csv
    from importlib import resources

    path = resources.files("optsched.throughput") / "data" / f"pollux_{app}_placements.csv"
    with path.open() as fh:
        return [(r["placement"], int(r["local_bsz"]), float(r["step_time"]), float(r["sync_time"]))
                for r in csv.DictReader(fh)]  # fmt: skip


def test_pollux_step_times_interpolate_and_accumulate_never_extrapolate():
    from optsched.problems.spase.generate import pollux_iterations, pollux_profile

    prof = pollux_profile("bert")
    rows = {(p, b): (t, s) for p, b, t, s in _rows("bert")}
    # a measured point is returned as measured
    assert prof.step(2, 8) == (rows[("2", 8)][0], 0)
    # between two measured local batches: linear
    (t6, _), (t8, _) = rows[("1", 6)], rows[("1", 8)]
    assert prof.step(1, 7)[0] == pytest.approx((t6 + t8) / 2)
    # above the largest (12): Pollux accumulates; batch 48 on 1 GPU is 4 micro-steps
    # of 12, the synchronisation paid once
    t12, s12 = rows[("1", 12)]
    assert prof.step(1, 48) == (pytest.approx(t12 + 3 * (t12 - s12)), 3)
    # below the smallest (4): no configuration, rather than an extrapolated time
    assert prof.step(4, 2) is None
    # iterations: Pollux's validated counts (bert: 14,774 at 12, 7,427 at 24), linear
    assert pollux_iterations("bert", 12) == 14774
    assert pollux_iterations("bert", 18) == pytest.approx((14774 + 7427) / 2)
    with pytest.raises(InputError, match="validated at batch sizes"):
        pollux_iterations("bert", 1000)


@needs_data
def test_pollux_tasks_time_jobs_as_pollux_does():
    from optsched.problems.spase.generate import pollux_iterations, pollux_profile, pollux_tasks

    inst = pollux_tasks(16, 4, 0)
    jobs = {j.name: j for j in sources.pollux_workload(1)}
    for task in inst.tasks:
        job = jobs[task.id]
        it = pollux_iterations(job.application, job.batch_size)
        for c in task.configs:
            step, _ = pollux_profile(job.application).step(c.num_gpus, job.batch_size / c.num_gpus)
            assert c.runtime == pytest.approx(round(it * step, 1))
    # durations differ by application: they are not all one hour on one GPU any more
    one = {round(t.configs[0].runtime) for t in inst.tasks if t.configs[0].num_gpus == 1}
    assert len(one) > 3
    assert inst.origin["configs_accumulating"] > 0
