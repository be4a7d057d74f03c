"""Solver-free timeslot schedules (used as warm starts and as baselines)."""

from __future__ import annotations

import math
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
# A slot-by-slot simulator and the published policies as priority rules.

#: Tiresias' queue thresholds on attained service (GPU-seconds), from its simulator.
TIRESIAS_QUEUES = (3250.0, 7200.0, 18000.0)
#: Tiresias' Gittins look-ahead (GPU-seconds) and starvation factor.
TIRESIAS_GITTINS_DELTA = 3250.0
STARVE_FACTOR = 3.0


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


def fastest(instance: TimeslotInstance, job: TimeslotJob) -> list[str]:
    return sorted(instance.pools[job.id], key=lambda t: -instance.rate(job.id, t))


def _best_rate(instance: TimeslotInstance, job: TimeslotJob) -> float:
    return max(instance.rate(job.id, t) for t in instance.pools[job.id])


def fifo(instance: TimeslotInstance, st: State, active: list[TimeslotJob]):  # type: ignore[no-untyped-def]
    """FIFO: by release slot, then input order; each job on its fastest type with room."""
    order = sorted(active, key=lambda j: (j.release, instance.job_index[j.id]))
    return [(j.id, fastest(instance, j)) for j in order]


def sjf(instance: TimeslotInstance, st: State, active: list[TimeslotJob]):  # type: ignore[no-untyped-def]
    """SJF, non-preemptive: running jobs keep their type; free GPUs go to the shortest
    waiting jobs (total work at the best rate)."""
    running = [j for j in active if st.last[j.id] is not None]
    waiting = sorted(
        (j for j in active if st.last[j.id] is None),
        key=lambda j: (j.work / _best_rate(instance, j), instance.job_index[j.id]),
    )
    return [(j.id, [st.last[j.id]]) for j in running] + [
        (j.id, fastest(instance, j)) for j in waiting
    ]


def srtf(instance: TimeslotInstance, st: State, active: list[TimeslotJob]):  # type: ignore[no-untyped-def]
    """SRTF, preemptive: shortest remaining time (work left at the best rate) first."""
    order = sorted(
        active, key=lambda j: (st.left[j.id] / _best_rate(instance, j), instance.job_index[j.id])
    )
    return [(j.id, fastest(instance, j)) for j in order]


def _queue(service: float) -> int:
    return sum(service >= q for q in TIRESIAS_QUEUES)


def _starving(st: State, job: TimeslotJob) -> bool:
    return (
        st.waiting[job.id] > 0
        and st.waiting[job.id] >= STARVE_FACTOR * max(st.executed[job.id], 1.0)
        and job.id in st.started
    )


def tiresias_las(instance: TimeslotInstance, st: State, active: list[TimeslotJob]):  # type: ignore[no-untyped-def]
    """Tiresias discretised 2D-LAS (Gu et al., NSDI'19).

    Attained service ``a_j = g_j x seconds run``; queues split at 3250, 7200
    and 18000 GPU-seconds (Tiresias' simulator); lower queues first, FIFO
    inside a queue. Starvation guard: a started job waiting at least
    ``STARVE_FACTOR`` times its executed time is promoted to queue 0.
    """

    def key(j: TimeslotJob) -> tuple[int, int, int]:
        q = 0 if _starving(st, j) else _queue(st.service[j.id])
        return (q, j.release, instance.job_index[j.id])

    return [(j.id, fastest(instance, j)) for j in sorted(active, key=key)]


def gittins_index(samples: np.ndarray, attained: float, delta: float) -> float:
    """Gittins index of a job with ``attained`` service, from service ``samples``.

    Tiresias' estimate: ``P(S - a <= delta | S > a) / E[min(S - a, delta) | S > a]``.
    """
    alive = samples[samples > attained]
    if alive.size == 0:
        return math.inf  # past every sample: expected to finish now
    p = np.mean(alive - attained <= delta)
    e = np.mean(np.minimum(alive - attained, delta))
    return float(p / e) if e > 0 else math.inf


def tiresias_gittins(instance: TimeslotInstance, st: State, active: list[TimeslotJob]):  # type: ignore[no-untyped-def]
    """Tiresias discretised 2D-Gittins: queues as 2D-LAS, Gittins index inside a queue.

    The service distribution is the instance's own jobs' GPU-time at their best
    rate (Tiresias uses the cluster's history); look-ahead 3250 GPU-seconds.
    """
    samples = np.array([j.num_gpus * j.work / _best_rate(instance, j) for j in instance.jobs])

    def key(j: TimeslotJob) -> tuple[int, float, int]:
        q = 0 if _starving(st, j) else _queue(st.service[j.id])
        return (
            q,
            -gittins_index(samples, st.service[j.id], TIRESIAS_GITTINS_DELTA),
            instance.job_index[j.id],
        )

    return [(j.id, fastest(instance, j)) for j in sorted(active, key=key)]


def themis(instance: TimeslotInstance, st: State, active: list[TimeslotJob]):  # type: ignore[no-untyped-def]
    """Themis finish-time fairness, greedy: largest estimated rho first.

    ``rho_j = (elapsed_j + left_j / rate_j) / T^id_j`` with ``elapsed`` the time
    since release and the best rate; the jobs furthest behind their fair finish
    time are offered GPUs first (Themis' auction with ``f = 0``, all apps bid).
    """
    delta = instance.slot_seconds

    def rho(j: TimeslotJob) -> float:
        elapsed = (st.slot - j.release) * delta
        return (elapsed + st.left[j.id] / _best_rate(instance, j)) / instance.ideal_time[j.id]

    order = sorted(active, key=lambda j: (-rho(j), instance.job_index[j.id]))
    return [(j.id, fastest(instance, j)) for j in order]


def optimus(instance: TimeslotInstance, st: State, active: list[TimeslotJob]):  # type: ignore[no-untyped-def]
    """Optimus-style marginal gain: the largest drop in remaining time per GPU first.

    Running job ``j`` on type ``t`` for a slot removes ``Delta rho_jt`` of its
    work, i.e. ``Delta rho_jt / rho*_j`` seconds of remaining time at its best
    rate ``rho*_j``; the gain per GPU is that over ``g_j``. (Optimus adds
    workers to jobs by marginal gain; with gang sizes fixed, the choice is which
    (job, type) pairs run.) Pairs are taken by decreasing gain.
    """
    delta = instance.slot_seconds
    pairs = []
    for j in active:
        best = _best_rate(instance, j)
        for t in instance.pools[j.id]:
            done = min(st.left[j.id], instance.rate(j.id, t) * delta)
            pairs.append((-(done / best) / j.num_gpus, instance.job_index[j.id], j.id, t))
    pairs.sort()
    seen: set[str] = set()
    out = []
    for _, _, jid, _t in pairs:
        if jid not in seen:
            seen.add(jid)
            ranked = sorted(
                instance.pools[jid], key=lambda t: -min(st.left[jid], instance.rate(jid, t) * delta)
            )
            out.append((jid, ranked))
    return out


def allox_policy(instance: TimeslotInstance) -> Policy:
    """AlloX (Le et al., EuroSys'20): min-cost matching of jobs to (type, position).

    Each GPU type ``t`` holds ``G_t`` GPUs; position ``k`` from the end on type
    ``t`` costs ``k p_jt`` (``p_jt`` the job's remaining time on ``t``), the
    matching minimises total completion time (``linear_sum_assignment``), and
    the order it implies per type is run. Deviations: a job's gang of ``g_j``
    GPUs is treated as ``g_j`` units of the type's capacity; the matching is
    recomputed every slot on the active jobs (Gavel recomputes per round).
    """
    from scipy.optimize import linear_sum_assignment

    def policy(inst: TimeslotInstance, st: State, active: list[TimeslotJob]):  # type: ignore[no-untyped-def]
        types = list(inst.cluster.gpu_types)
        n = len(active)
        cols = [(t, k) for t in types for k in range(1, n + 1)]
        cost = np.full((n, len(cols)), 1e18)
        for a, j in enumerate(active):
            for c, (t, k) in enumerate(cols):
                if t in inst.pools[j.id]:
                    cost[a, c] = k * st.left[j.id] / inst.rate(j.id, t)
        rows, picked = linear_sum_assignment(cost)
        # Position k counts from the end: larger k runs earlier on its type.
        order = sorted(zip(rows, picked), key=lambda rc: -cols[rc[1]][1])
        return [(active[r].id, [cols[c][0]] + fastest(inst, active[r])) for r, c in order]

    return policy


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


def _policy_method(
    make: Callable[[TimeslotInstance], Policy],
) -> Callable[[TimeslotInstance, SolveOptions], MethodOutput]:
    """A method that runs the policy ``make(instance)`` over the horizon."""

    def method(inst: TimeslotInstance, opts: SolveOptions) -> MethodOutput:
        solution, unfinished = simulate(inst, make(inst))
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

    return method


# Methods (declared in the family record, ``optsched/problems/timeslot/__init__.py``).
fifo_method = _policy_method(lambda inst: fifo)
sjf_method = _policy_method(lambda inst: sjf)
srtf_method = _policy_method(lambda inst: srtf)
tiresias_las_method = _policy_method(lambda inst: tiresias_las)
tiresias_gittins_method = _policy_method(lambda inst: tiresias_gittins)
gavel_mmf_method = _policy_method(gavel_mmf_policy)
themis_method = _policy_method(lambda inst: themis)
allox_method = _policy_method(allox_policy)
optimus_method = _policy_method(lambda inst: optimus)


def greedy_method(inst: TimeslotInstance, opts: SolveOptions) -> MethodOutput:
    from .checker import check

    solution = greedy_srtf(inst)
    left = [v.where for v in check(inst, solution).violations if v.kind == "incomplete"]
    if left:
        return MethodOutput(
            Status.ERROR, None, message=(f"left {len(left)} job(s) unfinished at the horizon")
        )
    return MethodOutput(Status.FEASIBLE, solution)
