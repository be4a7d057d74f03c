"""How online policies turn an order of jobs into GPU sets.

Each policy orders the released jobs by its rule and hands GPUs out in that
order through a placement rule of :mod:`optsched.model.state` (consolidated
first, best-fit, first-fit or scattered), the same rules the placement
family's heuristics use. A job goes to the fastest GPU type (by its
consolidated throughput) where the rule finds room.

* :func:`fill`: running jobs stay; waiting ones take free GPUs in order
  (non-preemptive policies).
* :func:`replan`: the winners in order, chosen by capacity per GPU type; a
  winner that already runs on the type it wins keeps its GPUs (no restart),
  and the others are placed on what is left (preemptive policies). Pairs that
  share one GPU set (Gandiva's packing) go as one unit.
* :func:`upgrade`: a running job moves to a faster placement with room (a
  faster type, or its own more compactly) when the move pays for its restart
  within a round (preemptive policies).
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ..core import FLOAT_EPS
from ..model.state import ClusterState
from ..model.topology import Cluster
from ..throughput.model import ThroughputModel
from .engine import JobView, View

Plan = dict[str, tuple[int, ...]]
Rule = Callable[[ClusterState, int, str], "dict[int, int] | None"]


def fastest_types(view: View, job: JobView) -> tuple[str, ...]:
    """GPU types the job runs on and fits, fastest first, by the throughput of its most
    compact placement on each (:meth:`.ThroughputModel.compact`)."""
    return _fastest(view.model, view.cluster, job.job_type, job.num_gpus, job.gpu_types)


#: Fastest types per (job type, gang, allowed types), per model: looked up on every decision.
_FASTEST: weakref.WeakKeyDictionary[Any, dict[tuple[Any, ...], tuple[str, ...]]] = (
    weakref.WeakKeyDictionary()
)


def _fastest(
    m: ThroughputModel, c: Cluster, job_type: str, num_gpus: int, allowed: tuple[str, ...]
) -> tuple[str, ...]:
    cache = _FASTEST.setdefault(m, {})
    key = (job_type, num_gpus, allowed)
    if key not in cache:
        types = [
            t
            for t in c.gpu_types
            if m.runs_on(job_type, t)
            and c.capacity(t) >= num_gpus
            and (not allowed or t in allowed)
        ]
        cache[key] = tuple(sorted(types, key=lambda t: (-m.compact(job_type, t, num_gpus), t)))
    return cache[key]


def type_rate(view: View, job: JobView, gpu_type: str) -> float:
    """The job's throughput on its most compact placement on ``gpu_type``."""
    return view.model.compact(job.job_type, gpu_type, job.num_gpus)


def best_rate(view: View, job: JobView) -> float:
    """The job's :func:`type_rate` on its fastest GPU type (0 if none fits)."""
    types = fastest_types(view, job)
    return type_rate(view, job, types[0]) if types else 0.0


def restarting(view: View, job: JobView) -> bool:
    """Whether a running job is still paying its restart overhead (it keeps its GPUs
    until it has made progress: preempting it then would lose the restart for
    nothing, and with an overhead as long as a round, forever)."""
    if not job.gpus:
        return False
    end = job.waiting_since + view.overhead(job.id)
    return view.time <= end + FLOAT_EPS * max(1.0, end)


def can_share(view: View, a: JobView, b: JobView, gpu_type: str) -> bool:
    """Whether the model lets ``a`` and ``b`` share a set of ``gpu_type`` GPUs."""
    m, k = view.model, a.num_gpus
    return (
        a.num_gpus == b.num_gpus
        and m.interference(a.job_type, b.job_type, gpu_type, k) is not None
        and m.interference(b.job_type, a.job_type, gpu_type, k) is not None
    )


def place(view: View, state: ClusterState, job: JobView, rule: Rule) -> tuple[int, ...] | None:
    """The job's GPUs on the fastest type where ``rule`` finds room (taken in ``state``)."""
    for t in fastest_types(view, job):
        if state.free_count(t) < job.num_gpus:
            continue
        picks = rule(state, job.num_gpus, t)
        if picks:
            return state.take(job.id, picks)
    return None


def fill(view: View, order: Sequence[JobView], state: ClusterState, plan: Plan, rule: Rule) -> Plan:
    """Waiting jobs in ``order`` take free GPUs where they fit (running ones stay)."""
    for job in order:
        if state.free_count() == 0:
            break
        if job.id in plan:
            continue
        gpus = place(view, state, job, rule)
        if gpus is not None:
            plan[job.id] = gpus
    return plan


def on_fastest(view: View, job: JobView) -> bool:
    """Whether a running job already runs at its best placement's rate (the most
    compact one on its fastest type): nothing to move up to."""
    now = view.model.isolated(job.job_type, job.gpus)
    return now >= best_rate(view, job) * (1 - 1e-9)


def upgrade(
    view: View, order: Sequence[JobView], state: ClusterState, plan: Plan, rule: Rule
) -> Plan:
    """Running jobs that stay put move, in ``order``, to a faster placement with room,
    on a faster type or more compactly on their own, when the move pays for its
    restart within one round: ``rate_new (R - o) > rate_now R`` (``R`` the round,
    ``o`` the job's restart overhead). Shared GPU sets stay."""
    r = view.round_seconds
    if not r or state.free_count() == 0:
        return plan
    m = view.model
    for job in order:
        gpus = plan.get(job.id)
        if not gpus or gpus != job.gpus or job.id in state.partner:
            continue
        now = m.throughput(job.job_type, gpus) * r
        o = view.overhead(job.id)
        for t in fastest_types(view, job):
            if type_rate(view, job, t) * (r - o) <= now:
                break  # not even its best placement here would pay; the rest are slower
            if state.free_count(t) < job.num_gpus:
                continue
            picks = rule(state, job.num_gpus, t)
            if picks and m.throughput(job.job_type, state.peek(picks)) * (r - o) > now:
                state.release(job.id)
                plan[job.id] = state.take(job.id, picks)
                break
        if state.free_count() == 0:
            break
    return plan


def replan(
    view: View,
    order: Sequence[JobView],
    rule: Rule,
    pairs: Mapping[str, JobView] | None = None,
    *,
    upgrades: bool = False,
    types: Mapping[str, str] | None = None,
) -> Plan:
    """Preemptive: pick the winners in ``order`` by capacity per type, keep the GPUs of
    winners that run on the type they win, then place the other winners on what is left.

    ``pairs`` maps a leader to the job that shares its GPUs (same gang size): the
    pair is one unit, placed where the leader's order puts it, on a type both run
    on. A running job that shares GPUs with a job other than its unit's partner
    keeps them only if it comes first in ``order``; the other moves.

    ``types`` puts first the GPU type of the jobs it names (a model chose it; the
    job's other types follow, for when that one is full); a job still paying its
    restart keeps its own type regardless. With ``upgrades`` a winner that keeps
    its GPUs may still move to a faster placement afterwards.
    """
    pairs = pairs or {}
    types = types or {}
    followers = {f.id for f in pairs.values()}
    # jobs still restarting go first: they keep their GPUs (see ``restarting``)
    pinned = [j for j in order if restarting(view, j) and j.id not in followers]
    first = {j.id for j in pinned}
    if pinned:
        order = [*pinned, *(j for j in order if j.id not in first)]
    c = view.cluster
    cap = {t: c.capacity(t) for t in c.gpu_types}
    units: list[tuple[JobView, JobView | None, str]] = []
    for job in order:
        if job.id in followers:
            continue
        mate = pairs.get(job.id)
        ok = fastest_types(view, job)
        if mate is not None:
            theirs = fastest_types(view, mate)
            ok = tuple(t for t in ok if t in theirs and can_share(view, job, mate, t))
        held = job.gpus or (mate.gpus if mate is not None else ())
        if held:  # its own type first: staying costs no restart
            own = c.gpu2type[held[0]]
            if own in ok:
                ok = (own, *(t for t in ok if t != own))
        fixed = types.get(job.id)
        if fixed is not None and fixed in ok and job.id not in first:
            ok = (fixed, *(t for t in ok if t != fixed))  # the others if it is full
        for t in ok:
            if cap[t] >= job.num_gpus:
                cap[t] -= job.num_gpus
                units.append((job, mate, t))
                break
    state = view.state()  # every running job's GPUs taken
    mates: dict[str, str] = {}
    for lead, mate, _ in units:
        mates[lead.id] = mate.id if mate is not None else ""
        if mate is not None:
            mates[mate.id] = lead.id
    for job in view.running:
        if job.id not in mates:
            state.release(job.id)  # preempted
    if state.partner:  # sharing with a job that is not its partner any more
        rank = {job.id: k for k, job in enumerate(order)}
        for job in view.running:
            other = state.partner.get(job.id)
            if other is not None and mates.get(job.id) != other:
                state.release(max(job.id, other, key=lambda j: rank.get(j, len(rank))))
    kept: list[tuple[JobView, JobView | None, JobView]] = []
    moving: list[tuple[JobView, JobView | None, str]] = []
    for lead, mate, t in units:
        members = (lead, mate) if mate is not None else (lead,)
        keep = next(
            (m for m in members if m.id in state.held and c.gpu2type[state.held[m.id][0]] == t),
            None,
        )
        for m in members:  # the others leave their GPUs: they move, or join ``keep``
            if m is keep or m.id not in state.held:
                continue
            if keep is None or state.partner.get(m.id) != keep.id:
                state.release(m.id)
        if keep is None:
            moving.append((lead, mate, t))
        else:
            kept.append((lead, mate, keep))
    plan: Plan = {}
    for lead, mate, keep in kept:
        gpus = state.held[keep.id]
        for m in (lead, mate) if mate is not None else (lead,):
            if m is not keep and m.id not in state.held:
                state.share(m.id, keep.id)
            plan[m.id] = gpus
    for lead, mate, t in moving:
        picks = rule(state, lead.num_gpus, t)
        if not picks:  # fragmentation can leave a counted unit without a fitting set
            continue
        plan[lead.id] = state.take(lead.id, picks)
        if mate is not None:
            plan[mate.id] = state.share(mate.id, lead.id)
    if upgrades:
        upgrade(view, [lead for lead, _, _ in units], state, plan, rule)
    return plan
