"""The event-driven simulator: jobs arrive, a policy allocates GPUs, jobs progress and end.

Time jumps from event to event: an arrival, a completion, or the end of a
round when the policy re-plans in rounds. Nothing ticks, so cost grows with
events, not with simulated seconds.

Progress. A job holding GPU set ``G`` progresses at
``ThroughputModel.throughput(job_type, G, partner)`` iterations per second, for
the exact set, so GPU type and locality count. Two jobs may share one GPU set
(space sharing: a policy gives both the same GPUs); each then progresses at its
co-located rate, and when one leaves, the other goes on alone at its isolated
rate without a restart. Every start on a new GPU set (the first
one included, as in the timeslot family) first pays the restart overhead
``o_j`` seconds without progress; a job whose set does not change keeps
running and pays nothing. A job started at ``s`` with ``w`` iterations left
therefore completes at ``s + o_j + w / rate`` unless it is stopped first.

Determinism. The engine has no randomness; a policy gets the seed and must
use nothing else.

The timeline (:class:`Timeline`) records every arrival, start (with its GPUs),
stop and completion; :mod:`.checker` recomputes everything from it alone.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property, partial
from typing import Any, NamedTuple, Protocol

import numpy as np

from ..core import FLOAT_EPS
from ..errors import InputError
from ..model.progress import progress
from ..model.state import ClusterState
from ..model.topology import Cluster
from ..throughput.model import ThroughputModel
from .workload import SimJob, Workload

#: Restart overhead: seconds a job spends without progress after a start on new GPUs.
Overhead = Callable[[SimJob], float]


def constant_overhead(seconds: float) -> Overhead:
    if not math.isfinite(seconds) or seconds < 0:
        raise InputError(f"restart overhead must be a finite number >= 0, got {seconds!r}")
    return lambda job: seconds


def per_type_overhead(seconds: Mapping[str, float], default: float = 0.0) -> Overhead:
    """Seconds per job type (e.g. checkpoint sizes); ``default`` for the others."""
    table = dict(seconds)
    for name, value in (*table.items(), ("default", default)):
        if not math.isfinite(value) or value < 0:
            raise InputError(f"restart overhead of {name!r} must be finite and >= 0, got {value!r}")
    return lambda job: table.get(job.job_type, default)


#: ``--restart-overhead model``: a relaunch, then a checkpoint of the weights and the
#: optimiser's two moments (3x the weights) read back at 10 GbE.
RELAUNCH_S = 10.0
CHECKPOINT_FACTOR = 3.0
CHECKPOINT_BANDWIDTH = 1.25e9  # bytes/s


def model_overhead(model: ThroughputModel) -> Overhead:
    """Restart cost per job type: ``RELAUNCH_S + CHECKPOINT_FACTOR x weights /
    CHECKPOINT_BANDWIDTH`` (e.g. ResNet-50: 10.25 s; Transformer bs128: 10.5 s)."""
    cost: dict[str, float] = {}

    def seconds(job: SimJob) -> float:
        if job.job_type not in cost:
            weights = model.catalog[job.job_type].model_bytes
            cost[job.job_type] = RELAUNCH_S + CHECKPOINT_FACTOR * weights / CHECKPOINT_BANDWIDTH
        return cost[job.job_type]

    return seconds


# ---------------------------------------------------------------- what a policy sees
class JobView(NamedTuple):
    """A released, unfinished job as a scheduler sees it.

    ``remaining`` (iterations left) is given only to clairvoyant policies;
    the others see attained service, as a real scheduler does. (A named tuple:
    every decision builds one per running job.)
    """

    id: str
    job_type: str
    num_gpus: int
    arrival: float
    weight: float
    attained: float  # GPU-seconds held so far
    executed: float  # seconds held so far
    gpus: tuple[int, ...]  # held now; () when waiting
    waiting_since: float  # when it last stopped (or arrived)
    remaining: float | None = None
    work: float | None = None
    partner: str | None = None  # the job it shares its GPUs with
    gpu_types: tuple[str, ...] = ()  # the types it may use (empty: any)


class ServiceHistory:
    """GPU-seconds of service of the jobs completed so far: what a scheduler's logs hold
    (Tiresias' Gittins index learns its service distribution from them)."""

    def __init__(self) -> None:
        self.values: list[float] = []
        self._sorted: tuple[Any, Any] | None = None

    def add(self, gpu_seconds: float) -> None:
        self.values.append(gpu_seconds)
        self._sorted = None

    def __len__(self) -> int:
        return len(self.values)

    def sorted(self) -> tuple[Any, Any]:
        """The values ascending and their prefix sums (numpy arrays; cached)."""
        if self._sorted is None:
            v = np.sort(np.asarray(self.values, dtype=float))
            self._sorted = (v, np.concatenate(([0.0], np.cumsum(v))))
        return self._sorted


class View:
    """Everything a policy may look at when it decides.

    ``waiting`` (released jobs holding no GPUs) and ``running`` (with their
    attained service up to now) are built on first use, so that a policy that
    needs only the queue does not pay for the running jobs; ``jobs`` is both,
    in arrival order. ``state()`` is a copy of the cluster's state to plan on;
    ``history`` the service of the jobs completed so far; ``round_seconds`` the
    re-planning period and ``overhead(job)`` the restart cost a move would pay
    (a scheduler knows its checkpoint-restore cost).
    """

    def __init__(
        self,
        time: float,
        waiting: Mapping[str, JobView],
        running: Callable[[], tuple[JobView, ...]],
        state: ClusterState,
        cluster: Cluster,
        model: ThroughputModel,
        seed: int = 0,
        history: ServiceHistory | None = None,
        round_seconds: float | None = None,
        overhead: Callable[[str], float] | None = None,
    ) -> None:
        self.time = time
        self._waiting = waiting
        self._running = running
        self._state = state
        self.cluster = cluster
        self.model = model
        self.seed = seed
        self.history = history if history is not None else ServiceHistory()
        self.round_seconds = round_seconds
        self._overhead = overhead

    def overhead(self, job: str) -> float:
        """Seconds a (re)start of ``job`` costs."""
        return self._overhead(job) if self._overhead is not None else 0.0

    @cached_property
    def waiting(self) -> tuple[JobView, ...]:
        return tuple(self._waiting.values())

    @cached_property
    def running(self) -> tuple[JobView, ...]:
        return self._running()

    @cached_property
    def jobs(self) -> tuple[JobView, ...]:
        return tuple(sorted((*self.waiting, *self.running), key=lambda j: (j.arrival, j.id)))

    @property
    def held(self) -> Mapping[str, tuple[int, ...]]:
        return self._state.held

    def state(self) -> ClusterState:
        return self._state.copy()


class Policy(Protocol):
    """A scheduler: at each decision, the GPU set of every job that should run.

    Jobs absent from the answer wait (a running one is preempted); a running
    job given the GPUs it holds keeps running without a restart.
    """

    name: str
    #: Sees each job's remaining work (SRTF, SJF): not something a real scheduler knows.
    clairvoyant: bool
    #: Re-plans at the end of every round, not only on arrivals and completions.
    preemptive: bool

    def schedule(self, view: View) -> Mapping[str, tuple[int, ...]]: ...


def _gives_hints(policy: Policy) -> bool:
    """Whether the policy names its own decision times (else it re-plans each round)."""
    gives = getattr(policy, "gives_hints", None)
    if gives is not None:
        return bool(gives)
    return getattr(policy, "next_decision", None) is not None


def next_decision(policy: Policy, view: View) -> float | None:
    """When a preemptive policy's order can next change by itself (a queue threshold
    crossed, say), if it says; ``None`` if it does not (then it re-plans each round)."""
    hint = getattr(policy, "next_decision", None)
    return None if hint is None else hint(view)


# ---------------------------------------------------------------- timeline
class Event(NamedTuple):
    """One line of the timeline; ``gpus`` only on ``start``. (A named tuple: runs
    record hundreds of thousands of them.)"""

    time: float
    kind: str  # arrive, start, stop, complete
    job: str
    gpus: tuple[int, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"t": self.time, "event": self.kind, "job": self.job}
        if self.kind == "start":
            out["gpus"] = list(self.gpus)
        return out


@dataclass
class Timeline:
    """The events, the number of decisions, and what a policy that solves a model each
    round reported of each solve (``solves``: time, objective, proven bound, gap)."""

    events: list[Event] = field(default_factory=list)
    decisions: int = 0
    solves: list[dict[str, Any]] = field(default_factory=list)

    def __iter__(self) -> Iterator[Event]:
        return iter(self.events)

    def __len__(self) -> int:
        return len(self.events)


@dataclass
class _Run:
    """A stretch of a job's run at one rate (a partner coming or going starts a new one)."""

    gpus: tuple[int, ...]
    rate: float
    start: float
    overhead: float  # left to pay from ``start``
    left_at_start: float
    partner: str | None = None  # its job type
    began: float = math.nan  # when the job got these GPUs

    def left(self, t: float) -> float:
        return max(0.0, self.left_at_start - progress(self.rate, t - self.start, self.overhead))

    @property
    def finish(self) -> float:
        if self.rate <= 0:
            return math.inf
        return self.start + self.overhead + self.left_at_start / self.rate


def run(
    workload: Workload,
    cluster: Cluster,
    policy: Policy,
    *,
    model: ThroughputModel | None = None,
    round_seconds: float | None = 360.0,
    overhead: Overhead | None = None,
    seed: int = 0,
    slotted: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> Timeline:
    """Simulate ``workload`` on ``cluster`` under ``policy``; the timeline of events.

    ``round_seconds`` is the re-planning period of preemptive policies (Gavel's
    360 s); ``None`` re-plans on arrivals and completions only. ``slotted``: every
    policy decides only at round boundaries, as in the timeslot family (a job
    that ends inside a slot leaves its GPUs idle until the slot ends, and a job
    that arrives inside one waits for the next).
    """
    model = model or ThroughputModel(cluster)
    overhead = overhead or constant_overhead(0.0)
    if round_seconds is not None and (not math.isfinite(round_seconds) or round_seconds <= 0):
        raise InputError(f"round must be a finite number of seconds > 0, got {round_seconds!r}")
    _check_fits(workload, cluster, model)
    jobs = workload.jobs
    index = workload.index
    left = {j.id: j.work for j in jobs}
    attained = dict.fromkeys(left, 0.0)
    executed = dict.fromkeys(left, 0.0)
    running: dict[str, _Run] = {}
    released: dict[str, SimJob] = {}  # unfinished
    waiting: dict[str, JobView] = {}  # released and holding no GPUs
    state = ClusterState(cluster)
    finishes: list[tuple[float, int, str]] = []  # heap of (finish, run id, job)
    run_ids: dict[str, int] = {}  # job -> id of its current run; other entries are stale
    next_run = 0
    timeline = Timeline()
    events = timeline.events
    n, nxt, done, t = len(jobs), 0, 0, 0.0
    if slotted and round_seconds is None:
        raise InputError("a slotted run needs round_seconds (the slot length)")
    replan_rounds = (policy.preemptive or slotted) and round_seconds is not None
    clairvoyant = policy.clairvoyant
    hinted = _gives_hints(policy) and not slotted
    t_hint = math.inf  # the policy's own next decision time, if it gives one
    reset = getattr(policy, "reset", None)
    if callable(reset):  # a policy object run again starts afresh
        reset()
    history = ServiceHistory()

    def cost_of(jid: str) -> float:
        return overhead(released[jid])

    holder: dict[tuple[int, ...], str] = {}  # GPU set -> the running job that took it
    rerate: set[str] = set()  # running jobs whose partner changed

    def release(jid: str) -> None:
        """Free ``jid``'s GPUs; a partner keeps them, and runs on alone."""
        other = state.partner.get(jid)
        gpus = state.release(jid)
        if other is not None:
            rerate.add(other)
            holder[gpus] = other
        elif holder.get(gpus) == jid:
            del holder[gpus]

    def push(jid: str, r: _Run) -> None:
        nonlocal next_run
        running[jid] = r
        run_ids[jid] = next_run
        heapq.heappush(finishes, (r.finish, next_run, jid))
        next_run += 1

    def rate_of(jid: str, gpus: tuple[int, ...]) -> tuple[float, str | None]:
        other = state.partner.get(jid)
        ptype = released[other].job_type if other is not None else None
        try:
            return model.throughput(released[jid].job_type, gpus, ptype), ptype
        except InputError:
            raise ValueError(
                f"policy {policy.name!r} put {jid!r} and {other!r} on GPUs they cannot share"
            ) from None

    def view_of(j: SimJob, since: float) -> JobView:
        return JobView(
            j.id, j.job_type, j.num_gpus, j.arrival, j.weight, attained[j.id],
            executed[j.id], (), since, left[j.id] if clairvoyant else None,
            j.work if clairvoyant else None, None, j.gpu_types,
        )  # fmt: skip

    make_view = partial(tuple.__new__, JobView)  # no keyword wrapper: one per running job
    partner = state.partner

    def running_views() -> tuple[JobView, ...]:
        if clairvoyant:
            return tuple(
                make_view((
                    jid, j.job_type, j.num_gpus, j.arrival, j.weight,
                    attained[jid] + j.num_gpus * (t - r.start), executed[jid] + t - r.start,
                    r.gpus, r.began, r.left(t), j.work, partner.get(jid), j.gpu_types,
                ))
                for jid, r in running.items()
                for j in (released[jid],)
            )  # fmt: skip
        return tuple(
            make_view((
                jid, j.job_type, j.num_gpus, j.arrival, j.weight,
                attained[jid] + j.num_gpus * (t - r.start), executed[jid] + t - r.start,
                r.gpus, r.began, None, None, partner.get(jid), j.gpu_types,
            ))
            for jid, r in running.items()
            for j in (released[jid],)
        )  # fmt: skip

    def apply_rerates() -> None:
        """Jobs whose partner came or went go on at their new rate: a new stretch of the
        same run, with no restart (what is left of the overhead still counts)."""
        for jid in sorted(rerate, key=index.__getitem__):
            r = running.get(jid)
            if r is None:
                continue
            rate, ptype = rate_of(jid, r.gpus)
            if ptype != r.partner:
                _account(jid, r, t, attained, executed)
                o = max(0.0, r.start + r.overhead - t)
                push(jid, _Run(r.gpus, rate, t, o, r.left(t), ptype, r.began))
        rerate.clear()

    while done < n:
        while finishes and run_ids.get(finishes[0][2]) != finishes[0][1]:
            heapq.heappop(finishes)  # a run that was stopped
        t_arrive = jobs[nxt].arrival if nxt < n else math.inf
        t_finish = finishes[0][0] if finishes else math.inf
        t_round = math.inf
        if hinted and released:
            t_round = t_hint
        elif replan_rounds and released and round_seconds is not None:
            t_round = (math.floor(t / round_seconds + FLOAT_EPS) + 1) * round_seconds
        t_next = min(t_arrive, t_finish, t_round)
        if not math.isfinite(t_next):
            raise _stuck(policy, released, cluster)
        t = t_next
        ended = []
        while finishes and finishes[0][0] <= t:  # t is the earliest finish: exact
            _, rid, jid = heapq.heappop(finishes)
            if run_ids.get(jid) == rid:
                ended.append(jid)
                del run_ids[jid]
        for jid in sorted(ended, key=index.__getitem__):  # their partners run on alone
            r = running.pop(jid)
            release(jid)
            _account(jid, r, r.finish, attained, executed)
            history.add(attained[jid])
            left[jid] = 0.0
            events.append(Event(min(r.finish, t), "complete", jid))
            del released[jid]
            done += 1
        if rerate:
            apply_rerates()
        arrived = False
        while nxt < n and jobs[nxt].arrival <= t:
            job = jobs[nxt]
            released[job.id] = job
            waiting[job.id] = view_of(job, job.arrival)
            events.append(Event(job.arrival, "arrive", job.id))
            nxt += 1
            arrived = True
        if not released or not (ended or arrived or t == t_round):
            continue
        if slotted and t != t_round and not _on_boundary(t, round_seconds):
            continue  # decisions only at slot boundaries
        if not policy.preemptive and not waiting:
            continue  # nothing to start, and running jobs are never stopped
        view = View(
            t, waiting, running_views, state, cluster, model, seed, history, round_seconds,
            cost_of,
        )  # fmt: skip
        plan = {}
        for jid, gpus in policy.schedule(view).items():  # GPU sets as sorted tuples
            held = running.get(jid)
            same = held is not None and gpus is held.gpus
            plan[jid] = gpus if same else tuple(sorted(gpus))
        timeline.decisions += 1
        stops = [jid for jid in running if plan.get(jid) != running[jid].gpus]
        for jid in sorted(stops, key=index.__getitem__):
            r = running.pop(jid)
            run_ids.pop(jid, None)
            release(jid)
            left[jid] = r.left(t)
            _account(jid, r, t, attained, executed)
            waiting[jid] = view_of(released[jid], t)
            events.append(Event(t, "stop", jid))
        starts = sorted((jid for jid in plan if jid not in running), key=index.__getitem__)
        for jid in starts:
            sjob, gpus = released.get(jid), tuple(plan[jid])
            _check_start(sjob, jid, gpus, cluster, state, holder, policy.name)
            assert sjob is not None
            # the run keeps the state's own tuple, so that a plan handing it back (a
            # lease kept) is recognised by identity, without sorting it again
            if state.is_free(gpus):
                gpus = state.take_gpus(jid, gpus)
                holder[gpus] = jid
            else:  # shares the set a running job holds alone (checked above)
                host = holder[gpus]
                gpus = state.share(jid, host)
                rerate.add(host)
            rate, ptype = rate_of(jid, gpus)
            if rate <= 0:
                raise ValueError(f"policy {policy.name!r} put {jid!r} on GPUs it cannot run on")
            push(jid, _Run(gpus, rate, t, overhead(sjob), left[jid], ptype, t))
            waiting.pop(jid, None)
            events.append(Event(t, "start", jid, gpus))
        apply_rerates()
        if hinted:
            later = next_decision(policy, view)
            t_hint = later if later is not None and later > t else math.inf
        if not running and nxt >= n and not (hinted and math.isfinite(t_hint)):
            # nothing runs, nothing will arrive, the policy names no later time: stuck
            raise _stuck(policy, released, cluster)
        if progress is not None:
            progress(done, n)
    timeline.solves = list(getattr(policy, "solves", ()))
    return timeline


def _stuck(policy: Policy, released: Mapping[str, SimJob], cluster: Cluster) -> InputError:
    """The error for jobs a policy leaves waiting forever, with the likely reason."""
    names = ", ".join(list(released)[:5])
    why = ""
    wide = [
        j.id
        for j in released.values()
        if all(
            j.num_gpus > cluster.max_server_gpus(t)
            for t in cluster.gpu_types
            if not j.gpu_types or t in j.gpu_types
        )
    ]
    if wide:
        why = (
            f"; {wide[0]} needs more GPUs than any one server has, which a placement rule "
            "that keeps a job on one server (best_fit) cannot place"
        )
    return InputError(
        f"policy {policy.name!r} left {len(released)} job(s) waiting with nothing running "
        f"and no arrival to come ({names}){why}"
    )


def _on_boundary(t: float, round_seconds: float | None) -> bool:
    if round_seconds is None:
        return False
    k = round(t / round_seconds)
    return abs(t - k * round_seconds) <= FLOAT_EPS * max(1.0, t)


def _account(
    jid: str, r: _Run, t: float, attained: dict[str, float], executed: dict[str, float]
) -> None:
    attained[jid] += len(r.gpus) * (t - r.start)
    executed[jid] += t - r.start


def _check_start(
    job: SimJob | None,
    jid: str,
    gpus: tuple[int, ...],
    cluster: Cluster,
    state: ClusterState,
    holder: Mapping[tuple[int, ...], str],
    name: str,
) -> None:
    """A start must name a released job, a full gang of one type, and free GPUs, or
    exactly the GPU set of one running job that shares it with nobody."""
    if job is None:
        raise ValueError(f"policy {name!r} scheduled {jid!r}, which is not waiting or running")
    if len(gpus) != job.num_gpus or len(set(gpus)) != len(gpus):
        raise ValueError(f"policy {name!r} gave {jid!r} {len(gpus)} GPUs, not {job.num_gpus}")
    types = {cluster.gpu2type[g] for g in gpus}
    if len(types) != 1:
        raise ValueError(f"policy {name!r} gave {jid!r} GPUs of several types")
    if job.gpu_types and not types <= set(job.gpu_types):
        raise ValueError(f"policy {name!r} gave {jid!r} {types.pop()!r} GPUs, not allowed")
    if not state.is_free(gpus):
        host = holder.get(gpus)
        if host is None or host in state.partner:
            raise ValueError(f"policy {name!r} gave {jid!r} GPUs another job holds")


def _check_fits(workload: Workload, cluster: Cluster, model: ThroughputModel) -> None:
    """Every job must fit some GPU type it runs on: a job that never can is an error."""
    for job in workload.jobs:
        if job.job_type not in model.catalog:
            raise InputError(f"job {job.id!r}: unknown job type {job.job_type!r}")
        if not any(
            cluster.capacity(t) >= job.num_gpus and model.runs_on(job.job_type, t)
            for t in cluster.gpu_types
            if not job.gpu_types or t in job.gpu_types
        ):
            raise InputError(
                f"job {job.id!r}: {job.num_gpus} GPUs of {job.job_type!r} fit no GPU type of "
                f"cluster {cluster.name!r}"
            )
