"""Solver-free timeslot schedules: the warm start, and the baselines (the simulator's
online policies run over the instance)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ...core import FLOAT_EPS, Status
from ...model.state import ClusterState
from ...solvers.common import MethodOutput, SolveOptions
from .instance import TimeslotInstance, TimeslotJob
from .solution import Run, TimeslotSolution


def place_slot(
    instance: TimeslotInstance,
    chosen: dict[str, str],
    previous: dict[str, tuple[int, ...] | None],
) -> dict[str, tuple[int, ...]]:
    """GPUs for the jobs running in one slot (``job -> GPU type``), with locality on.

    The placement rules are the placement family's (:mod:`optsched.model.state`),
    as the simulator's: a job that ran on the same type in the previous slot
    keeps its GPUs (no restart); the others, largest first, go where the
    consolidated rule puts them. Capacity per type was checked by the caller,
    and the rule spreads a job when no server holds it, so every job gets GPUs.
    """
    state = ClusterState(instance.cluster)
    out: dict[str, tuple[int, ...]] = {}
    for jid, t in chosen.items():
        gpus = previous.get(jid)
        if gpus and instance.cluster.gpu2type[gpus[0]] == t and state.is_free(gpus):
            out[jid] = state.take_gpus(jid, gpus)
    jobs = instance.jobs
    rest = sorted(
        (jid for jid in chosen if jid not in out),
        key=lambda jid: (-jobs[instance.job_index[jid]].num_gpus, instance.job_index[jid]),
    )
    for jid in rest:
        need = jobs[instance.job_index[jid]].num_gpus
        picks = state.consolidated(need, chosen[jid])
        assert picks is not None, "capacity per type was checked"
        out[jid] = state.take(jid, picks)
    return out


def slot_rate(
    instance: TimeslotInstance, job: TimeslotJob, t: str, gpus: tuple[int, ...] | None
) -> float:
    """Iterations/s in a slot: on the GPU set with locality on (as the checker), else packed."""
    if gpus is not None and instance.locality:
        return instance.model.isolated(job.job_type, gpus)
    return instance.rate(job.id, t)


def greedy_srtf(instance: TimeslotInstance) -> TimeslotSolution:
    """Shortest remaining time first, slot by slot, each job on its fastest free type.

    In every slot, released unfinished jobs are taken by remaining time at
    their best rate; each runs on the fastest allowed GPU type with enough free
    GPUs, paying the restart overhead when it did not run on that type in the
    previous slot. With locality on, runs name GPUs (:func:`place_slot`) and
    progress at the rate of their GPU set.
    """
    cap = {t: instance.cluster.capacity(t) for t in instance.cluster.gpu_types}
    left = {j.id: j.work for j in instance.jobs}
    last: dict[str, str | None] = {j.id: None for j in instance.jobs}
    held: dict[str, tuple[int, ...] | None] = {j.id: None for j in instance.jobs}
    best = {j.id: max(instance.rate(j.id, t) for t in instance.pools[j.id]) for j in instance.jobs}
    runs: list[Run] = []
    delta, o = instance.slot_seconds, instance.restart_overhead
    jobs = {j.id: j for j in instance.jobs}
    for slot in range(instance.num_slots):
        free = dict(cap)
        ready = [j for j in instance.jobs if j.release <= slot and left[j.id] > 0]
        ready.sort(key=lambda j: (left[j.id] / best[j.id], j.id))
        now: dict[str, str] = {}
        for j in ready:
            types = sorted(instance.pools[j.id], key=lambda t: -instance.rate(j.id, t))
            for t in types:
                if free[t] >= j.num_gpus:
                    free[t] -= j.num_gpus
                    now[j.id] = t
                    break
        gpus = place_slot(instance, now, held) if instance.locality else {}
        for jid, t in now.items():
            g = gpus.get(jid)
            restart = last[jid] != t or (instance.locality and held[jid] != g)
            seconds = delta - (o if restart else 0.0)
            left[jid] -= slot_rate(instance, jobs[jid], t, g) * seconds
            runs.append(Run(jid, slot, t, g))
        for j in instance.jobs:
            last[j.id] = now.get(j.id)
            held[j.id] = gpus.get(j.id)
    return TimeslotSolution(tuple(runs))


# ---------------------------------------------------------------- baselines
# The published policies are the simulator's online policies, run over the instance
# slot by slot (``online_method``). Gavel's max-min fairness LP still runs on the
# slot loop below, until the LP policies join the simulator.


@dataclass
class State:
    """What a policy may look at before a slot: per job, in the instance's order."""

    slot: int
    left: dict[str, float]  # work left (iterations)
    service: dict[str, float] = field(default_factory=dict)  # attained GPU-seconds
    executed: dict[str, float] = field(default_factory=dict)  # seconds run
    waiting: dict[str, float] = field(default_factory=dict)  # seconds since last run
    last: dict[str, str | None] = field(default_factory=dict)  # type run on last slot
    started: set[str] = field(default_factory=set)
    gpus: dict[str, tuple[int, ...] | None] = field(default_factory=dict)  # GPUs last slot


Policy = Callable[[TimeslotInstance, State, list[TimeslotJob]], list[tuple[str, list[str]]]]


def simulate(instance: TimeslotInstance, policy: Policy) -> tuple[TimeslotSolution, list[str]]:
    """Run ``policy`` slot by slot; it ranks active jobs (with GPU types to try, in order)
    and each job in rank order takes the first type with enough free GPUs.

    Returns the runs and the jobs left unfinished at the horizon.
    """
    jobs = {j.id: j for j in instance.jobs}
    st = State(
        0,
        {j.id: j.work for j in instance.jobs},
        {j.id: 0.0 for j in instance.jobs},
        {j.id: 0.0 for j in instance.jobs},
        {j.id: 0.0 for j in instance.jobs},
        {j.id: None for j in instance.jobs},
    )
    st.gpus = {j.id: None for j in instance.jobs}
    cap = {t: instance.cluster.capacity(t) for t in instance.cluster.gpu_types}
    delta, o = instance.slot_seconds, instance.restart_overhead
    runs: list[Run] = []
    for slot in range(instance.num_slots):
        st.slot = slot
        active = [
            j for j in instance.jobs if j.release <= slot and st.left[j.id] > FLOAT_EPS * j.work
        ]
        if not active:
            continue
        free = dict(cap)
        now: dict[str, str] = {}
        for jid, types in policy(instance, st, active):
            job = jobs[jid]
            for t in types:
                if t in instance.pools[jid] and free[t] >= job.num_gpus:
                    free[t] -= job.num_gpus
                    now[jid] = t
                    break
        gpus = place_slot(instance, now, st.gpus) if instance.locality else {}
        for job in active:
            if job.id not in now:
                st.waiting[job.id] += delta
                st.last[job.id] = None
                st.gpus[job.id] = None
                continue
            t = now[job.id]
            g = gpus.get(job.id)
            restart = st.last[job.id] != t or (instance.locality and st.gpus[job.id] != g)
            seconds = delta - (o if restart else 0.0)
            st.left[job.id] -= slot_rate(instance, job, t, g) * seconds
            st.gpus[job.id] = g
            st.service[job.id] += job.num_gpus * delta
            st.executed[job.id] += delta
            st.waiting[job.id] = 0.0
            st.last[job.id] = t
            st.started.add(job.id)
            runs.append(Run(job.id, slot, t, g))
    unfinished = [j.id for j in instance.jobs if st.left[j.id] > FLOAT_EPS * j.work]
    return TimeslotSolution(tuple(runs)), unfinished


def gavel_mmf_policy(instance: TimeslotInstance) -> Policy:
    """Gavel's heterogeneity-aware max-min fairness, rounded into slots.

    Each slot, for the active jobs, solve Gavel's LP (``scipy`` HiGHS):
    maximise ``min_m w_m sum_t T_mt X_mt / T^eq_m`` subject to
    ``sum_t X_mt <= 1`` and ``sum_m g_m X_mt <= G_t``, where ``T^eq_m`` is the
    throughput of an equal time share of the cluster,
    ``min(1, G / sum_m g_m) sum_t T_mt G_t / G``. Gavel's round mechanism then
    runs jobs by priority ``X_mt / (share of slots received on t)``, highest
    first. Deviation: ``T^eq`` is this equal share (Gavel uses its
    proportional policy's allocation).
    """
    from scipy.optimize import linprog

    received: dict[tuple[str, str], int] = {}

    def policy(inst: TimeslotInstance, st: State, active: list[TimeslotJob]):  # type: ignore[no-untyped-def]
        types = list(inst.cluster.gpu_types)
        n, m = len(active), len(types)
        cap = np.array([inst.cluster.capacity(t) for t in types], dtype=float)
        total = cap.sum()
        share = min(1.0, total / sum(j.num_gpus for j in active))
        T = np.array(
            [[inst.rate(j.id, t) if t in inst.pools[j.id] else 0.0 for t in types] for j in active]
        )
        eq = share * (T * cap[None, :] / total).sum(axis=1)
        # variables: X (n*m), z; maximise z
        c = np.zeros(n * m + 1)
        c[-1] = -1.0
        a_ub, b_ub = [], []
        for a, j in enumerate(active):
            row = np.zeros(n * m + 1)
            row[a * m : (a + 1) * m] = 1.0
            a_ub.append(row)
            b_ub.append(1.0)
            row = np.zeros(n * m + 1)  # z <= w T X / eq
            row[a * m : (a + 1) * m] = -j.weight * T[a] / eq[a]
            row[-1] = 1.0
            a_ub.append(row)
            b_ub.append(0.0)
        for b in range(m):
            row = np.zeros(n * m + 1)
            for a, j in enumerate(active):
                row[a * m + b] = j.num_gpus
            a_ub.append(row)
            b_ub.append(cap[b])
        bounds = [(0.0, 1.0 if T[a, b] > 0 else 0.0) for a in range(n) for b in range(m)]
        res = linprog(
            c,
            A_ub=np.array(a_ub),
            b_ub=np.array(b_ub),
            bounds=bounds + [(0.0, None)],
            method="highs",
        )
        X = res.x[:-1].reshape(n, m) if res.status == 0 else np.ones((n, m)) / m
        rounds = max(st.slot, 1)
        prio = []
        for a, j in enumerate(active):
            for b, t in enumerate(types):
                if X[a, b] <= FLOAT_EPS:
                    continue
                got = received.get((j.id, t), 0) / rounds
                prio.append((-(X[a, b] / (got + 1e-3)), instance.job_index[j.id], j.id, t))
        prio.sort()
        out: list[tuple[str, list[str]]] = []
        seen: set[str] = set()
        for _, _, jid, t in prio:
            if jid not in seen:
                seen.add(jid)
                out.append((jid, [t]))
        return out

    def counted(inst: TimeslotInstance, st: State, active: list[TimeslotJob]):  # type: ignore[no-untyped-def]
        # Count what ran in the previous slot before deciding this one.
        for j in active:
            last = st.last[j.id]
            if last is not None:
                received[(j.id, last)] = received.get((j.id, last), 0) + 1
        return policy(inst, st, active)

    return counted


def online_method(policy: str) -> Callable[[TimeslotInstance, SolveOptions], MethodOutput]:
    """A method that runs the simulator's online ``policy`` over the instance, with
    decisions at slot boundaries (:mod:`optsched.simulate.slots`): one implementation
    of each rule, online and offline."""

    def method(inst: TimeslotInstance, opts: SolveOptions) -> MethodOutput:
        from ...simulate.slots import run_on_instance

        solution, unfinished = run_on_instance(inst, policy, seed=opts.seed or 0)
        return _within_horizon(solution, unfinished)

    return method


def _within_horizon(solution: TimeslotSolution, unfinished: list[str]) -> MethodOutput:
    if unfinished:  # the policy ran out of horizon: no feasible schedule
        return MethodOutput(
            Status.ERROR,
            None,
            message=(
                f"policy left {len(unfinished)} job(s) unfinished at the horizon "
                f"({', '.join(unfinished[:5])})"
            ),
        )
    return MethodOutput(Status.FEASIBLE, solution)


def _policy_method(
    make: Callable[[TimeslotInstance], Policy],
) -> Callable[[TimeslotInstance, SolveOptions], MethodOutput]:
    """A method that runs the slot policy ``make(instance)`` over the horizon."""

    def method(inst: TimeslotInstance, opts: SolveOptions) -> MethodOutput:
        return _within_horizon(*simulate(inst, make(inst)))

    return method


# Methods (declared in the family record, ``optsched/problems/timeslot/__init__.py``).
fifo_method = online_method("fifo")
sjf_method = online_method("sjf")
srtf_method = online_method("srtf")
tiresias_las_method = online_method("las")
tiresias_gittins_method = online_method("gittins")
themis_method = online_method("themis")
allox_method = online_method("allox")
optimus_method = online_method("optimus")
gavel_mmf_method = _policy_method(gavel_mmf_policy)


def greedy_method(inst: TimeslotInstance, opts: SolveOptions) -> MethodOutput:
    from .checker import check

    solution = greedy_srtf(inst)
    left = [v.where for v in check(inst, solution).violations if v.kind == "incomplete"]
    if left:
        return MethodOutput(
            Status.ERROR, None, message=(f"left {len(left)} job(s) unfinished at the horizon")
        )
    return MethodOutput(Status.FEASIBLE, solution)
