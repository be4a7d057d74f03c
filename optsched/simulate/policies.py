"""Online scheduling policies: one protocol (:class:`~optsched.simulate.engine.Policy`).

Each policy orders the released jobs by its rule and hands GPUs out in that
order through a placement rule of :mod:`optsched.model.state` (consolidated
first, best-fit, first-fit or scattered), the same rules the placement
family's heuristics use. A job goes to the fastest GPU type (by its
consolidated throughput) where the rule finds room.

* Non-preemptive policies (``fifo``, ``sjf``) leave running jobs alone and
  fill free GPUs from the queue.
* Preemptive policies (``srtf``, ``las``) re-plan when their order can change
  (arrivals, completions, and the instants the policy names, such as a 2D-LAS
  queue threshold crossed): when every waiting job fits in the free GPUs,
  nobody is preempted and the waiting jobs are placed in priority order;
  otherwise the jobs that win, in priority order, keep the GPUs they hold when
  they already run (no restart), and the rest are placed on what is left.
  Either way, a running job then moves to a faster GPU type with room when the
  move pays for its restart within a round.

``sjf`` and ``srtf`` are clairvoyant: they read each job's remaining work,
which a real scheduler does not know.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..core import FLOAT_EPS
from ..errors import InputError
from ..model.state import RULES
from ..problems.record import keep_traceback, load_plugin
from .engine import JobView, ServiceHistory, View
from .placing import best_rate, fill, on_fastest, replan, upgrade
from .published import AlloX, Gandiva, _optimus, _themis

#: Tiresias' queue thresholds on attained service (GPU-seconds), from its simulator.
TIRESIAS_QUEUES = (3250.0, 7200.0, 18000.0)
#: A started job waiting this many times its executed time is promoted (Tiresias).
STARVE_FACTOR = 3.0

Key = Callable[[JobView, View], tuple]


@dataclass
class PriorityPolicy:
    """Jobs in the order of ``key``; GPUs through the placement ``rule``."""

    name: str
    key: Key
    preemptive: bool
    clairvoyant: bool = False
    rule: str = "consolidated"
    #: When the order can next change by itself (see ``engine.next_decision``), from the
    #: time and the jobs as a plan leaves them; set for policies whose order moves only
    #: at known instants, so they skip idle rounds.
    hint: Callable[[float, Sequence[JobView], Mapping[str, tuple[int, ...]]], float] | None = None

    def __post_init__(self) -> None:
        if self.rule not in RULES:
            raise InputError(f"placement rule must be one of {', '.join(RULES)}, got {self.rule!r}")

    def schedule(self, view: View) -> Mapping[str, tuple[int, ...]]:
        if not self.preemptive:  # running jobs stay: only the queue is placed
            order = sorted(view.waiting, key=lambda j: self.key(j, view))
            state = view.state()
            return fill(view, order, state, dict(state.held), RULES[self.rule])
        plan = self._without_preemption(view)
        if plan is not None:  # every waiting job fits beside the running ones
            if self.hint is not None:
                self._next = self.hint(view.time, (*view.waiting, *view.running), plan)
            return plan
        order = sorted((*view.waiting, *view.running), key=lambda j: self.key(j, view))
        plan = replan(view, order, RULES[self.rule], upgrades=True)
        if self.hint is not None:  # the next change, on the jobs as the plan leaves them
            self._next = self.hint(view.time, order, plan)
        return plan

    def _without_preemption(self, view: View) -> dict[str, tuple[int, ...]] | None:
        """The plan when every waiting job fits in the free GPUs: nobody is preempted,
        and the waiting jobs are placed in priority order; ``None`` when one does not fit."""
        state = view.state()
        if sum(j.num_gpus for j in view.waiting) > state.free_count():
            return None
        order = sorted(view.waiting, key=lambda j: self.key(j, view))
        plan = fill(view, order, state, dict(state.held), RULES[self.rule])
        if not all(j.id in plan for j in order):
            return None
        if state.free_count() and self._upgrade_due(view):
            # room left: running jobs may move up to faster types (once a round: a move
            # must pay within a round, and looking costs a view of every running job)
            slow = [j for j in view.running if not on_fastest(view, j)]
            if slow:
                upgrade(
                    view,
                    sorted(slow, key=lambda j: self.key(j, view)),
                    state,
                    plan,
                    RULES[self.rule],
                )
        return plan

    def _upgrade_due(self, view: View) -> bool:
        r = view.round_seconds
        if not r:
            return False
        k = math.floor(view.time / r + FLOAT_EPS)
        if getattr(self, "_upgraded", None) == k:
            return False
        self._upgraded = k
        return True

    def reset(self) -> None:
        """Forget the last run (hints, upgrade rounds)."""
        self.__dict__.pop("_next", None)
        self.__dict__.pop("_upgraded", None)

    def with_rule(self, rule: str) -> PriorityPolicy:
        return PriorityPolicy(
            self.name, self.key, self.preemptive, self.clairvoyant, rule, self.hint
        )

    @property
    def gives_hints(self) -> bool:
        return self.hint is not None

    def next_decision(self, view: View) -> float | None:
        """The hint computed by the last :meth:`schedule` (``None`` without a hint)."""
        return None if self.hint is None else getattr(self, "_next", math.inf)


# ---------------------------------------------------------------- the rules
def _arrival(job: JobView, view: View) -> tuple:
    return (job.arrival, job.id)


def _shortest(job: JobView, view: View) -> tuple:
    assert job.work is not None
    return (job.work / best_rate(view, job), job.arrival, job.id)


def _remaining(job: JobView, view: View) -> tuple:
    assert job.remaining is not None
    return (job.remaining / best_rate(view, job), job.arrival, job.id)


def _starves_at(job: JobView) -> float:
    """When a started, waiting job starts to starve (Tiresias' guard)."""
    return job.waiting_since + STARVE_FACTOR * max(job.executed, 1.0)


def _queue(attained: float) -> int:
    """The 2D-LAS queue of an attained service; a hair of slack so that the instant a
    threshold is reached (a computed time) counts as reached."""
    return bisect.bisect_right(TIRESIAS_QUEUES, attained + FLOAT_EPS * max(1.0, attained))


def _las(job: JobView, view: View) -> tuple:
    """Tiresias discretised 2D-LAS: queues by attained GPU-seconds, FIFO inside; a
    started job starving for ``STARVE_FACTOR`` times its executed time goes to queue 0."""
    now = view.time + FLOAT_EPS * max(1.0, view.time)
    starving = not job.gpus and job.executed > 0 and now >= _starves_at(job)
    queue = 0 if starving else _queue(job.attained)
    return (queue, job.arrival, job.id)


def _las_next(t: float, jobs: Sequence[JobView], plan: Mapping[str, tuple[int, ...]]) -> float:
    """The next time a 2D-LAS order changes by itself, once ``plan`` runs: a running
    job's attained service crosses a queue threshold, or a started waiting job starts
    to starve."""
    out = math.inf
    queues = TIRESIAS_QUEUES
    for job in jobs:
        if job.id in plan:
            k = _queue(job.attained)
            if k < len(queues):
                out = min(out, t + (queues[k] - job.attained) / job.num_gpus)
        elif job.executed > 0:
            since = t if job.gpus else job.waiting_since  # preempted now, or waiting
            at = since + STARVE_FACTOR * max(job.executed, 1.0)
            if at > t:  # those already starving are in queue 0 now
                out = min(out, at)
    return out


#: Tiresias' Gittins look-ahead, GPU-seconds (its simulator's default).
GITTINS_DELTA = 3250.0


# ---------------------------------------------------------------- Tiresias 2D-Gittins
def gittins_index(history: ServiceHistory, attained: float, delta: float = GITTINS_DELTA) -> float:
    """Gittins index of a job that has had ``attained`` GPU-seconds, from the service of
    completed jobs: ``P(S - a <= delta | S > a) / E[min(S - a, delta) | S > a]``.

    With no history, or past every completed job, the index is 0 (no information:
    such jobs keep arrival order behind the others of their queue).
    """
    if not len(history):
        return 0.0
    s, prefix = history.sorted()
    lo = int(np.searchsorted(s, attained, side="right"))
    alive = s.size - lo
    if alive == 0:
        return 0.0
    hi = int(np.searchsorted(s, attained + delta, side="right"))
    finishing = hi - lo  # end within the look-ahead
    served = (prefix[hi] - prefix[lo]) - finishing * attained + (s.size - hi) * delta
    return finishing / served if served > 0 else math.inf


def _gittins(job: JobView, view: View) -> tuple:
    """Tiresias discretised 2D-Gittins: 2D-LAS's queues (and starvation guard), and the
    Gittins index, highest first, inside a queue."""
    queue = _las(job, view)[0]
    return (queue, -gittins_index(view.history, job.attained), job.arrival, job.id)


def _srtf_next(t: float, jobs: Sequence[JobView], plan: Mapping[str, tuple[int, ...]]) -> float:
    """SRTF's order moves only on arrivals and completions: running jobs only gain."""
    return math.inf


POLICIES: dict[str, tuple[Any, str]] = {
    "fifo": (PriorityPolicy("fifo", _arrival, False), "FIFO by arrival"),
    "sjf": (
        PriorityPolicy("sjf", _shortest, False, clairvoyant=True),
        "shortest job first",
    ),
    "srtf": (
        PriorityPolicy("srtf", _remaining, True, clairvoyant=True, hint=_srtf_next),
        "shortest remaining time first",
    ),
    "las": (
        PriorityPolicy("las", _las, True, hint=_las_next),
        "Tiresias discretised 2D-LAS with starvation guard (event-driven)",
    ),
    "gittins": (
        PriorityPolicy("gittins", _gittins, True),
        "Tiresias discretised 2D-Gittins: 2D-LAS queues, Gittins index learnt from completed "
        "jobs inside a queue (rounds)",
    ),
    "gandiva": (Gandiva(), "Gandiva: packing of pairs that gain, plus time slicing (rounds)"),
    "themis": (
        PriorityPolicy("themis", _themis, True, clairvoyant=True),
        "Themis finish-time fairness: largest estimated rho first, leases of one round",
    ),
    "allox": (
        AlloX(),
        "AlloX: min-cost matching of waiting jobs to (GPU type, position)",
    ),
    "optimus": (
        PriorityPolicy("optimus", _optimus, True, clairvoyant=True, hint=_srtf_next),
        "Optimus marginal gain with rigid gangs: smallest remaining GPU-time first",
    ),
}


def _with_allocation_policies() -> None:
    from .exact import exact_policies
    from .lp_policies import allocation_policies
    from .rolling import rolling_policies

    POLICIES.update(allocation_policies())
    POLICIES.update(exact_policies())
    POLICIES.update(rolling_policies())


_with_allocation_policies()

#: Entry-point group through which installed packages add policies (``name = "pkg.mod:obj"``).
ENTRY_POINT_GROUP = "optsched.policies"


@dataclass
class FunctionPolicy:
    """A plug-in given as a bare function ``schedule(view) -> {job: GPUs}``.

    The function may carry ``optsched_preemptive`` and ``optsched_clairvoyant``
    attributes (default: neither); a clairvoyant policy must say so.
    """

    name: str
    fn: Callable[[View], Mapping[str, tuple[int, ...]]]
    preemptive: bool = False
    clairvoyant: bool = False

    def schedule(self, view: View) -> Mapping[str, tuple[int, ...]]:
        return self.fn(view)


def get_policy(name: str, rule: str = "consolidated") -> Any:
    """A built-in policy by name, an installed one, or ``module:function``.

    A plug-in target is a policy object (with ``name``, ``preemptive``,
    ``clairvoyant`` and ``schedule``), a class or factory that makes one, or a
    bare ``schedule`` function.
    """
    if name in POLICIES:
        return POLICIES[name][0].with_rule(rule)
    from importlib.metadata import entry_points

    installed = {ep.name: ep.value for ep in entry_points(group=ENTRY_POINT_GROUP)}
    target = installed.get(name)
    if target is None and ":" not in name:
        from .gavel import GAVEL_ONLY

        if name in GAVEL_ONLY:
            raise InputError(f"policy {name!r} runs under --semantics gavel only")
        known = ", ".join([*POLICIES, *installed])
        raise InputError(f"unknown policy {name!r} (known: {known}; or module:function)")
    spec = target or name
    obj = load_plugin("policy", name, spec)
    if all(hasattr(obj, a) for a in ("schedule", "preemptive", "clairvoyant")):
        return Guarded(obj, name)
    if isinstance(obj, type) or getattr(obj, "optsched_factory", False):
        try:
            made = obj()
        except (Exception, SystemExit) as exc:
            keep_traceback()
            raise InputError(f"policy {name!r}: {spec!r} failed to build ({exc!r})") from None
        if all(hasattr(made, a) for a in ("schedule", "preemptive", "clairvoyant")):
            return Guarded(made, name)
    if callable(obj):
        return Guarded(
            FunctionPolicy(
                name,
                obj,
                bool(getattr(obj, "optsched_preemptive", False)),
                bool(getattr(obj, "optsched_clairvoyant", False)),
            ),
            name,
        )
    raise InputError(f"policy {name!r}: {spec!r} is not a policy or a function")


class Guarded:
    """A plug-in policy as the engine runs it: an exception (or ``sys.exit``) in its
    ``schedule`` is a one-line ``InputError`` naming the policy and the time (the
    traceback on stderr under ``OPTSCHED_DEBUG``), and a plan that is not a mapping
    of job ids to GPU ids says so. Everything else is the policy's own."""

    def __init__(self, inner: Any, label: str) -> None:
        self._inner, self._label = inner, label

    def __getattr__(self, attr: str) -> Any:
        return getattr(self._inner, attr)

    def schedule(self, view: View) -> Mapping[str, tuple[int, ...]]:
        try:
            plan = self._inner.schedule(view)
        except InputError:
            raise
        except (Exception, SystemExit) as exc:
            keep_traceback()
            raise InputError(
                f"policy {self._label!r} failed at t={view.time:g}: {exc.__class__.__name__}: {exc}"
            ) from None
        if not isinstance(plan, Mapping) or not all(
            isinstance(k, str) and isinstance(g, (tuple, list)) for k, g in plan.items()
        ):
            got = type(plan).__name__
            raise InputError(
                f"policy {self._label!r} returned a {got}, not a mapping of job ids to "
                "tuples of GPU ids"
            )
        return plan
