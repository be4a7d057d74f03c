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
from .placing import fastest_types, restarting

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
    _time: dict[str, dict[str, float]] = field(default_factory=dict)  # since the allocation
    _seen: dict[str, float] = field(default_factory=dict)  # executed at the last decision
    _lp: Any = None
    _make: Any = None
    _clock: IsolatedClock = field(default_factory=IsolatedClock)  # finish-time fairness

    def __post_init__(self) -> None:
        if self.policy not in ALLOCATION_POLICIES or self.policy == "max_min_fairness_packed":
            known = [p for p in ALLOCATION_POLICIES if p != "max_min_fairness_packed"]
            raise InputError(f"allocation policy must be one of {', '.join(known)}")
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
        total = {t: sum(self._time.get(j, {}).get(t, 0.0) for j in jobs) for t in c.gpu_types}
        entries = []
        for k, jid in enumerate(jobs):
            for t, a in self._alloc.get(jid, {}).items():
                if a <= 0 or t not in fastest_types(view, jobs[jid]):
                    continue
                got = self._time.get(jid, {}).get(t, 0.0)
                share = got / total[t] if total[t] > 0 else 0.0
                entries.append((-(a / share if share > 0 else a * 1e9), k, jid, t))
        entries.sort()
        cap = {t: c.capacity(t) for t in c.gpu_types}
        won: dict[str, str] = {}
        for job in view.running:  # still restarting: keeps its GPUs
            if restarting(view, job):
                t = c.gpu2type[job.gpus[0]]
                cap[t] -= job.num_gpus
                won[job.id] = t
        for _, _, jid, t in entries:
            g = jobs[jid].num_gpus
            if jid not in won and cap[t] >= g:
                cap[t] -= g
                won[jid] = t
        for jid, job in jobs.items():  # the rest, work-conserving, fastest type first
            if jid in won:
                continue
            for t in fastest_types(view, job):
                if cap[t] >= job.num_gpus:
                    cap[t] -= job.num_gpus
                    won[jid] = t
                    break
        return self._place(view, jobs, won)

    def _account(self, view: View) -> None:
        """Time each running job held its type since the last decision."""
        for job in view.running:
            before = self._seen.get(job.id, job.executed)
            t = view.cluster.gpu2type[job.gpus[0]]
            per = self._time.setdefault(job.id, {})
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
            )
            for j in jobs.values()
        ]  # fmt: skip
        problem = self._make(rows, "round")
        a = self._lp.allocate(problem) if self._lp is not None else allocate(problem, self.policy)
        if self.policy == "finish_time_fairness":
            self._clock.allocated(problem, [r.id for r in rows])
        self._alloc = {j.id: a.share(i) for i, j in enumerate(rows)}
        self._time = {}  # shares count from the new allocation on (Gavel's reset)
        self._jobs = frozenset(jobs)

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
        if name != "max_min_fairness_packed"
    }
