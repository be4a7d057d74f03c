"""Solver-free timeslot schedules: the warm start, and the baselines (the simulator's
online policies run over the instance)."""

from __future__ import annotations

from collections.abc import Callable

from ...core import Status
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
# slot by slot (``online_method``); Gavel's is its max-min fairness LP policy.


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
            Status.NO_SOLUTION,
            None,
            message=(
                f"policy left {len(unfinished)} job(s) unfinished at the horizon "
                f"({', '.join(unfinished[:5])})"
            ),
        )
    return MethodOutput(Status.FEASIBLE, solution)


# Methods (declared in the family record, ``optsched/problems/timeslot/__init__.py``).
fifo_method = online_method("fifo")
sjf_method = online_method("sjf")
srtf_method = online_method("srtf")
tiresias_las_method = online_method("las")
tiresias_gittins_method = online_method("gittins")
themis_method = online_method("themis")
allox_method = online_method("allox")
optimus_method = online_method("optimus")
gavel_mmf_method = online_method("max_min_fairness_perf")


def greedy_method(inst: TimeslotInstance, opts: SolveOptions) -> MethodOutput:
    from .checker import check

    solution = greedy_srtf(inst)
    left = [v.where for v in check(inst, solution).violations if v.kind == "incomplete"]
    if left:
        return MethodOutput(
            Status.NO_SOLUTION, None, message=f"left {len(left)} job(s) unfinished at the horizon"
        )
    return MethodOutput(Status.FEASIBLE, solution)
