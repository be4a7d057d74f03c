"""Gavel's allocation policies in the default semantics: LPs turned into rounds on
concrete GPUs.

Each decision, when the set of jobs changed, the policy recomputes its
allocation (:mod:`optsched.allocation`: the fraction of time each job should
spend on each GPU type). It then turns the allocation into this round's jobs
with Gavel's mechanism: the priority of a job on a type is its allocation there
over its share of the time that type has run jobs since the allocation was
made (a job not yet run there gets ``allocation x 1e9``); (job, type) entries
go in decreasing priority, a job runs once, and types fill up to their GPUs.
Jobs the allocation gives no time (or no throughput) take what is left, in
arrival order, on their fastest type with room. Winners that already run on
the type they win keep their GPUs (a lease extension, no restart); the others
are placed by the placement rule, so locality and restarts count. Rounds are
the engine's (``--round``).

``max_min_fairness_packed`` adds Gavel's pairs: a pair of jobs of one gang size
has its own allocation (the class LP's time of one class next to another,
spread over the partners), its own share of time received and so its own
priority; a winning pair runs as one unit on one GPU set
(:func:`.placing.replan`), at its co-located rates.

Differences from ``--semantics gavel``: the allocation is recomputed whenever
jobs come or go (Gavel waits at least 1,920 s), jobs that came after the last
allocation can use idle GPUs, and types are not walked one after the other but
by priority across them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..allocation import AllocJob, allocate
from ..allocation.lp import POLICIES as ALLOCATION_POLICIES
from ..allocation.lp import RoundLP
from ..allocation.problem import IsolatedClock, rounds_on
from ..errors import InputError
from ..model.state import RULES
from .engine import JobView, View
from .placing import can_share, fastest_types, replan, restarting

#: Allocation policies that read each job's remaining work.
CLAIRVOYANT = ("min_total_duration", "finish_time_fairness")


@dataclass
class AllocationPolicy:
    """An allocation LP of :mod:`optsched.allocation`, run in rounds (see the module)."""

    policy: str
    rule: str = "consolidated"
    preemptive: bool = True
    name: str = ""
    clairvoyant: bool = False
    _jobs: frozenset[str] = frozenset()
    _alloc: dict[str, dict[str, float]] = field(default_factory=dict)
    _time: dict[Any, dict[str, float]] = field(default_factory=dict)  # since the allocation
    _seen: dict[str, float] = field(default_factory=dict)  # executed at the last decision
    _lp: Any = None
    _make: Any = None
    _clock: IsolatedClock = field(default_factory=IsolatedClock)  # finish-time fairness
    _pairs: dict[tuple[str, str], dict[str, float]] = field(default_factory=dict)  # packed

    def __post_init__(self) -> None:
        if self.policy not in ALLOCATION_POLICIES:
            raise InputError(f"allocation policy must be one of {', '.join(ALLOCATION_POLICIES)}")
        if self.rule not in RULES:
            raise InputError(f"placement rule must be one of {', '.join(RULES)}, got {self.rule!r}")
        self.name = self.name or self.policy
        self.clairvoyant = self.policy in CLAIRVOYANT

    def reset(self) -> None:
        """Forget the last run's allocation, shares and LP."""
        fresh = AllocationPolicy(self.policy, self.rule)
        self.__dict__.update({k: v for k, v in fresh.__dict__.items() if k.startswith("_")})

    def with_rule(self, rule: str) -> AllocationPolicy:
        return AllocationPolicy(self.policy, rule)

    def schedule(self, view: View) -> Mapping[str, tuple[int, ...]]:
        jobs = {j.id: j for j in view.jobs}
        c = view.cluster
        self._account(view)
        if frozenset(jobs) != self._jobs:
            self._allocate(view, jobs)
        # Gavel's priorities: allocation over the share of the type's time received
        total = {t: sum(per.get(t, 0.0) for per in self._time.values()) for t in c.gpu_types}
        entries = []
        rank = {jid: k for k, jid in enumerate(jobs)}
        units: list[tuple[tuple[str, ...], Mapping[str, float]]]
        units = [((jid,), self._alloc.get(jid, {})) for jid in jobs]
        units += list(self._pairs.items())
        for unit, alloc in units:
            key = unit[0] if len(unit) == 1 else unit
            first = min(rank[m] for m in unit)
            for t, a in alloc.items():
                if a <= 0 or any(t not in fastest_types(view, jobs[m]) for m in unit):
                    continue
                got = self._time.get(key, {}).get(t, 0.0)
                share = got / total[t] if total[t] > 0 else 0.0
                entries.append((-(a / share if share > 0 else a * 1e9), first, len(unit), unit, t))
        entries.sort()
        cap = {t: c.capacity(t) for t in c.gpu_types}
        won: dict[str, str] = {}
        mates: dict[str, str] = {}
        for job in view.running:  # still restarting: keeps its GPUs (with its partner)
            if restarting(view, job) and job.id not in won:
                t = c.gpu2type[job.gpus[0]]
                cap[t] -= job.num_gpus
                won[job.id] = t
                if job.partner is not None and job.partner in jobs:
                    won[job.partner] = t
                    mates[job.id], mates[job.partner] = job.partner, job.id
        for *_, unit, t in entries:
            g = jobs[unit[0]].num_gpus
            if all(m not in won for m in unit) and cap[t] >= g:
                cap[t] -= g
                for m in unit:
                    won[m] = t
                if len(unit) == 2:
                    mates[unit[0]], mates[unit[1]] = unit[1], unit[0]
        for jid, job in jobs.items():  # the rest, work-conserving, fastest type first
            if jid in won:
                continue
            for t in fastest_types(view, job):
                if cap[t] >= job.num_gpus:
                    cap[t] -= job.num_gpus
                    won[jid] = t
                    break
        if self._pairs:
            return self._place_units(view, jobs, won, mates)
        return self._place(view, jobs, won)

    def _account(self, view: View) -> None:
        """Time each running job (or pair, counted once) held its type since the last
        decision."""
        for job in view.running:
            key: Any = job.id
            if job.partner is not None and self._pairs:
                key = tuple(sorted((job.id, job.partner)))
                if job.id != key[0]:
                    continue
            before = self._seen.get(job.id, job.executed)
            t = view.cluster.gpu2type[job.gpus[0]]
            per = self._time.setdefault(key, {})
            per[t] = per.get(t, 0.0) + max(0.0, job.executed - before)
        self._seen = {j.id: j.executed for j in view.jobs}

    def _allocate(self, view: View, jobs: Mapping[str, JobView]) -> None:
        c = view.cluster
        if self._make is None:
            self._make = rounds_on({t: c.capacity(t) for t in c.gpu_types}, view.model)
            if self.policy in RoundLP.INCREMENTAL:
                self._lp = RoundLP(self.policy)
        rows = [
            AllocJob(
                j.id, j.job_type, j.num_gpus, j.weight,
                j.remaining if j.remaining is not None else 0.0, view.time - j.arrival,
                self._clock.advance(j.id, j.remaining) if j.remaining is not None else 0.0,
                j.gpu_types,
            )
            for j in jobs.values()
        ]  # fmt: skip
        problem = self._make(rows, "round")
        a = self._lp.allocate(problem) if self._lp is not None else allocate(problem, self.policy)
        if self.policy == "finish_time_fairness":
            self._clock.allocated(problem, [r.id for r in rows])
        if self.policy == "max_min_fairness_packed":
            self._alloc, self._pairs = self._packed(view, a, rows)
        else:
            self._alloc = {j.id: a.share(i) for i, j in enumerate(rows)}
        self._time = {}  # shares count from the new allocation on (Gavel's reset)
        self._jobs = frozenset(jobs)

    def _packed(
        self, view: View, a: Any, rows: list[AllocJob]
    ) -> tuple[dict[str, dict[str, float]], dict[tuple[str, str], dict[str, float]]]:
        """Each job's time alone, and each pair's time together: its class pair's time
        spread evenly over the partners (as under ``--semantics gavel``), for the
        pairs that may share the type."""
        types = a.problem.types
        alone = {
            r.id: {t: max(0.0, float(a.single[i, k])) for k, t in enumerate(types)}
            for i, r in enumerate(rows)
        }
        members: dict[int, list[str]] = {}
        for i, r in enumerate(rows):
            members.setdefault(int(a.class_of[i]), []).append(r.id)
        jobs = {j.id: j for j in view.jobs}
        pairs: dict[tuple[str, str], dict[str, float]] = {}
        for ca, cb in a.shared:
            frac = a.pair_share(ca, cb)
            if ca > cb or frac is None or not (frac > 1e-9).any():
                continue
            for x in members[ca]:
                for y in members[cb]:
                    if x == y or (ca == cb and x > y):
                        continue
                    share = {
                        t: float(frac[k])
                        for k, t in enumerate(types)
                        if frac[k] > 1e-9 and can_share(view, jobs[x], jobs[y], t)
                    }
                    if share:
                        pairs[(min(x, y), max(x, y))] = share
        return alone, pairs

    def _place_units(
        self,
        view: View,
        jobs: Mapping[str, JobView],
        won: Mapping[str, str],
        mates: Mapping[str, str],
    ) -> dict[str, tuple[int, ...]]:
        """The winners, pairs as one unit each, on their types (:func:`.placing.replan`)."""
        order = [jobs[jid] for jid in won if mates.get(jid, jid) >= jid]
        pairs = {jid: jobs[m] for jid, m in mates.items() if m > jid}
        return replan(view, order, RULES[self.rule], pairs, types=won)

    def _place(
        self, view: View, jobs: Mapping[str, JobView], won: Mapping[str, str]
    ) -> dict[str, tuple[int, ...]]:
        c = view.cluster
        state = view.state()
        for job in view.running:
            if won.get(job.id) != c.gpu2type[job.gpus[0]]:
                state.release(job.id)  # preempted, or moves to another type
        plan = {jid: state.held[jid] for jid in won if jid in state.held}
        rule = RULES[self.rule]
        order = sorted((jid for jid in won if jid not in plan), key=lambda j: -jobs[j].num_gpus)
        for jid in order:
            picks = rule(state, jobs[jid].num_gpus, won[jid])
            if picks:  # fragmentation can leave a counted job without a fitting set
                plan[jid] = state.take(jid, picks)
        return plan


def allocation_policies() -> dict[str, tuple[AllocationPolicy, str]]:
    """The allocation policies as simulator policies, with their descriptions."""
    return {
        name: (AllocationPolicy(name), f"Gavel LP: {text} (rounds)")
        for name, text in ALLOCATION_POLICIES.items()
    }
