"""Online forms of published schedulers, on workloads whose JCTs are derived by hand."""

from types import SimpleNamespace

import pytest
from helpers import congested_stream, have_data

from optsched.model import gavel, single_server
from optsched.simulate import SimJob, Workload, simulate
from optsched.simulate.engine import JobView, ServiceHistory
from optsched.simulate.policies import POLICIES, _gittins, gittins_index
from optsched.throughput import gavel_table

R18 = "ResNet-18 (batch size 64)"
R50 = "ResNet-50 (batch size 64)"


def rate(job_type, gpu="v100", k=1):
    return gavel_table().isolated[(job_type, gpu, k)]


def jcts(res):
    return dict(zip(res.jobs["job"], res.jobs["jct_s"]))


def test_the_gittins_index_from_a_history_by_hand():
    h = ServiceHistory()
    for v in (100.0, 200.0, 1000.0):
        h.add(v)
    # a = 0, delta = 150: one of three ends within 150 (P = 1/3); E[min(S, 150)] =
    # (100 + 150 + 150) / 3, so the index is (1/3) / (400/3) = 1/400
    assert gittins_index(h, 0.0, 150.0) == pytest.approx(1 / 400)
    # a = 150: 200 and 1000 are left; 200 ends within 150 (P = 1/2), E = (50 + 150) / 2
    assert gittins_index(h, 150.0, 150.0) == pytest.approx(1 / 200)
    # past every completed job, or no history: no information, index 0
    assert gittins_index(h, 5000.0, 150.0) == 0.0
    assert gittins_index(ServiceHistory(), 0.0, 150.0) == 0.0


def test_gittins_orders_a_queue_by_index_and_queues_first():
    h = ServiceHistory()
    for v in (1000.0, 1100.0, 9000.0):
        h.add(v)
    view = SimpleNamespace(time=0.0, history=h)

    def job(name, attained, arrival):
        return JobView(name, R18, 1, arrival, 1.0, attained, attained, (), arrival)

    # both in queue 0 (under 3250 GPU-s). Gittins with a 3250 look-ahead: a job at
    # 0 ends within it with P = 2/3; at 950 attained, with P = 2/3 too but a shorter
    # expected stretch (50, 150, 3250 vs 1000, 1100, 3250): it goes first, although
    # it arrived later. A job past 3250 GPU-s is in queue 1, behind both.
    fresh, near, old = job("fresh", 0.0, 0.0), job("near", 950.0, 5.0), job("old", 4000.0, 0.0)
    order = sorted([fresh, near, old], key=lambda j: _gittins(j, view))
    assert [j.id for j in order] == ["near", "fresh", "old"]


def test_gandiva_packs_a_pair_that_gains_and_unpacks_when_all_fit():
    # One V100, two jobs: demand exceeds the cluster, and Gavel measured the pair
    # at fA + fB = 0.52 + 0.81 > 1, so Gandiva packs them from t = 0 (see
    # test_simulate's co-location test for the numbers): B ends at 100 / fB; A then
    # fits alone and keeps its GPU without a restart.
    g = gavel_table().colocated
    fa = g[(R18, R50, "v100", 1)][0] / rate(R18)
    fb = g[(R50, R18, "v100", 1)][0] / rate(R50)
    w = Workload(
        "pair",
        (SimJob("A", R18, 1, 1000 * rate(R18), 0.0), SimJob("B", R50, 1, 100 * rate(R50), 0.0)),
    )
    res = simulate(w, single_server(1), "gandiva", overhead=0.0)
    got = jcts(res)
    assert got["B"] == pytest.approx(100 / fb)
    assert got["A"] == pytest.approx(100 / fb + 1000 - 100 * fa / fb)
    assert res.summary["restarts"] == 0


def test_gandiva_time_slices_a_pair_that_cannot_share():
    # Gavel never measured A3C next to ResNet-50 bs128: no packing. Time slicing in
    # 360 s rounds, least time run first: A runs 0-360; at 360 B (never run) goes
    # first and ends at 460; A resumes at 460 with 640 s left: ends at 1100.
    other = "ResNet-50 (batch size 128)"
    w = Workload(
        "slice",
        (
            SimJob("A", "A3C", 1, 1000 * rate("A3C"), 0.0),
            SimJob("B", other, 1, 100 * rate(other), 0.0),
        ),
    )
    got = jcts(simulate(w, single_server(1), "gandiva"))
    assert got == pytest.approx({"A": 1100.0, "B": 460.0})


def test_themis_serves_the_job_furthest_behind_its_fair_finish():
    # One V100, 10 s to (re)start. A (1000 s) from 0, B (100 s) from 100. At 100,
    # rho_A = (100 + 1000 - 90) / 1000 = 1.01 beats a fresh job's rho_B = 1: A keeps
    # its lease. At the round end, 360: rho_A = 1.01 still, rho_B = (260 + 100) / 100
    # = 3.6: B runs 360-470 (10 s restart, 100 s work); A resumes with 650 s left,
    # and ends at 470 + 10 + 650 = 1130.
    w = Workload(
        "two",
        (SimJob("A", R18, 1, 1000 * rate(R18), 0.0), SimJob("B", R18, 1, 100 * rate(R18), 100.0)),
    )
    got = jcts(simulate(w, single_server(1), "themis", overhead=10.0))
    assert got == pytest.approx({"A": 1130.0, "B": 370.0})


def test_allox_matches_jobs_to_the_gpu_type_that_minimises_total_completion():
    # One V100 and one K80 (a server each); both jobs need 100 s on a V100. X
    # (Recommendation bs8192) is nearly as fast on the K80 (100 / 0.95 s), Y
    # (ResNet-18 bs256) is 11.6x slower there. Matching (type, position) slots:
    # X on K80 and Y on V100, both first, cost 100 / 0.95 + 100; every other
    # assignment costs more (both on the V100: 100 + 200). FIFO puts X, first in
    # line, on the faster V100 and leaves Y the K80: 100 + 1163 s.
    x, y = "Recommendation (batch size 8192)", "ResNet-18 (batch size 256)"
    w = Workload(
        "hetero", (SimJob("X", x, 1, 100 * rate(x), 0.0), SimJob("Y", y, 1, 100 * rate(y), 0.0))
    )
    cluster = gavel({"v100": 1, "k80": 1}, 1)
    got = jcts(simulate(w, cluster, "allox"))
    assert got == pytest.approx({"X": 100 * rate(x) / rate(x, "k80"), "Y": 100.0})
    fifo = jcts(simulate(w, cluster, "fifo"))
    assert fifo == pytest.approx({"X": 100.0, "Y": 100 * rate(y) / rate(y, "k80")})


def test_optimus_runs_the_smallest_remaining_gpu_time_first():
    # Two V100s on one server. A needs both for 100 s (200 GPU-s); B and C one each
    # for 150 s (150 GPU-s). SRTF runs A first (100 s < 150 s): JCTs 100, 250, 250.
    # Optimus' gain per GPU favours B and C: 150, 150, then A 150-250.
    lm = "LM (batch size 20)"
    w = Workload(
        "gangs",
        (
            SimJob("A", lm, 2, 100 * rate(lm, k=2), 0.0),
            SimJob("B", lm, 1, 150 * rate(lm), 0.0),
            SimJob("C", lm, 1, 150 * rate(lm), 0.0),
        ),
    )
    c = single_server(2)
    assert jcts(simulate(w, c, "optimus")) == pytest.approx({"A": 250.0, "B": 150.0, "C": 150.0})
    assert jcts(simulate(w, c, "srtf")) == pytest.approx({"A": 100.0, "B": 250.0, "C": 250.0})


@pytest.mark.parametrize("name", sorted(POLICIES))
def test_every_policy_runs_a_congested_stream_checked_and_deterministic(name):
    w = congested_stream()
    c = gavel({"v100": 4, "p100": 4, "k80": 4}, 2)
    # solvers in the loop: the first 20 jobs and a short (deterministic) time limit
    # per round keep this quick
    solver = hasattr(POLICIES[name][0], "with_time_limit")
    limit = 0.02 if solver else None
    if solver:
        w = w.head(20)
    a = simulate(w, c, name, overhead=5.0, seed=1, round_time_limit=limit)
    b = simulate(w, c, name, overhead=5.0, seed=1, round_time_limit=limit)
    assert a.check.feasible
    assert a.timeline.events == b.timeline.events
    assert a.summary["measured_jobs"] == len(w.jobs)


def test_a_preemptive_policy_moves_a_job_up_when_the_move_pays_within_a_round():
    # A V100 and a K80, 10 s to (re)start. A needs 100 s and B 1000 s on the V100;
    # B runs at ratio q = 0.293 of that on the K80. SRTF puts A on the V100 and B on
    # the K80. A ends at 110; B, working on the K80 from 10, has done 100 q of its
    # 1000 s. Moving pays within a round, (360 - 10) > q 360, so B restarts on the
    # V100 and ends at 110 + 10 + 1000 - 100 q. FIFO never moves a running job:
    # 10 + 1000 / q.
    q = rate(R18, "k80") / rate(R18)
    assert 0.29 < q < 0.3
    w = Workload(
        "up",
        (SimJob("A", R18, 1, 100 * rate(R18), 0.0), SimJob("B", R18, 1, 1000 * rate(R18), 0.0)),
    )
    cluster = gavel({"v100": 1, "k80": 1}, 1)
    moved = simulate(w, cluster, "srtf", overhead=10.0)
    assert jcts(moved) == pytest.approx({"A": 110.0, "B": 120.0 + 1000 - 100 * q})
    assert moved.summary["restarts"] == 1
    stays = simulate(w, cluster, "fifo", overhead=10.0)
    assert jcts(stays)["B"] == pytest.approx(10 + 1000 / q)


def test_timeslot_baselines_are_the_online_policies_run_slot_by_slot():
    # The timeslot method and the simulator in slotted mode agree: each job completes
    # in the slot in which the engine's run of the same policy completes it, and the
    # timeslot checker (with the shared progress rule) accepts the schedule.
    import math

    from optsched.problems.timeslot import TimeslotInstance, TimeslotJob
    from optsched.simulate.engine import constant_overhead, run
    from optsched.simulate.policies import get_policy
    from optsched.simulate.slots import workload_of
    from optsched.solve import solve

    jobs = tuple(
        TimeslotJob(f"j{k}", t, g, secs * rate(t, k=g), release)
        for k, (t, g, secs, release) in enumerate(
            [
                (R18, 1, 500, 0),
                (R50, 2, 900, 0),
                (R18, 1, 200, 1),
                ("LM (batch size 20)", 1, 1500, 1),
            ]
        )
    )
    inst = TimeslotInstance(
        "tiny", gavel({"v100": 2, "k80": 2}, 2), jobs, num_slots=24, slot_seconds=360.0,
        restart_overhead=20.0, objective="weighted_completion",
    )  # fmt: skip
    for policy, method in [("srtf", "srtf"), ("las", "tiresias_las"), ("fifo", "fifo")]:
        res = solve(inst, method)
        assert res.status.value == "feasible" or res.status.value == "optimal"
        timeline = run(
            workload_of(inst), inst.cluster, get_policy(policy), model=inst.model,
            round_seconds=360.0, overhead=constant_overhead(20.0), slotted=True,
        )  # fmt: skip
        done = {e.job: e.time for e in timeline if e.kind == "complete"}
        expected = sum(
            math.ceil(done[j.id] / 360.0 - 1e-9) * 360.0 - j.release * 360.0 for j in jobs
        )
        assert res.objective == pytest.approx(expected), policy


@pytest.mark.skipif(not have_data(), reason="needs the raw traces ($OPTSCHED_DATA)")
def test_the_alibaba_workload_keeps_whole_gpu_pods_and_says_what_it_left_out():
    from optsched import sources
    from optsched.simulate.sources import alibaba_cluster, trace_workload

    cluster = alibaba_cluster()
    assert cluster.num_gpus == 1508 and set(cluster.gpu_types) == {"a10", "p100", "t4", "v100"}
    counts = sources.openb_counts()
    w = trace_workload("alibaba", cluster)
    assert len(w.jobs) == counts["kept"]
    assert (
        counts["kept"] + sum(v for k, v in counts.items() if k not in ("pods", "kept"))
        == (counts["pods"])
    )
    assert f"{counts['fractional']} fractional" in w.source
    assert {j.num_gpus for j in w.jobs} <= {1, 2, 4, 8}
    res = simulate(w.with_measure(0, 200), cluster, "fifo")
    assert res.check.feasible


def test_an_allocation_policy_alternates_two_jobs_on_one_gpu_by_rounds():
    # One V100, A and B at 0, 1000 s of work each; max-min fairness gives each half.
    # Round 1: no share received yet, priorities tie at 0.5e9 and A, first in
    # arrival order, runs 0-360. At 360 B has received none of the type's time
    # (priority 0.5e9), A all of it (0.5 / 1): B runs 360-720. Then A 720-1080,
    # B 1080-1440, A 1440-1720 (its 1000 s done), and B alone 1720-2000.
    w = Workload(
        "two",
        (SimJob("A", R18, 1, 1000 * rate(R18), 0.0), SimJob("B", R18, 1, 1000 * rate(R18), 0.0)),
    )
    res = simulate(w, single_server(1), "max_min_fairness_perf")
    starts = [(e.time, e.job) for e in res.timeline if e.kind == "start"]
    assert [j for _, j in starts] == ["A", "B", "A", "B", "A", "B"]
    assert [t for t, _ in starts] == pytest.approx([0, 360, 720, 1080, 1440, 1720])
    got = jcts(res)
    assert got == pytest.approx({"A": 1720.0, "B": 2000.0})


def test_a_restarting_job_is_not_preempted_so_time_slicing_cannot_livelock():
    # One V100, a pair that cannot share, 360 s to (re)start and 360 s rounds. Were a
    # restarting job preemptable, each would be stopped at the end of its restart,
    # forever. A starts at 0 and still restarts at 360, so it keeps the GPU; at 720 it
    # has run 360 s, B none: B runs 720-1180 (360 + 100). A restarts at 1180 and ends
    # at 1180 + 360 + 640 = 2180.
    other = "ResNet-50 (batch size 128)"
    w = Workload(
        "slice",
        (
            SimJob("A", "A3C", 1, 1000 * rate("A3C"), 0.0),
            SimJob("B", other, 1, 100 * rate(other), 0.0),
        ),
    )
    got = jcts(simulate(w, single_server(1), "gandiva", overhead=360.0))
    assert got == pytest.approx({"A": 2180.0, "B": 1180.0})
