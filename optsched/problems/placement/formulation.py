"""Data shared by the placement CP-SAT and MILP models.

Both models choose, for every job ``j``, a GPU type ``t`` and a *spread level*
``l`` (0: one server, 1: several servers of one rack, 2: several racks) with
binary ``u[j,t,l]``, and GPU counts ``x[j,s]`` per server. Given the type and
level, the throughput model's value is the same for every GPU set when the
servers of a type share their link and NIC bandwidths and their racks share an
uplink bandwidth (every builder makes such clusters); that is checked here, and
it makes the linearisation exact: ``thr[j,t,l]`` is the model's value on a
canonical set of that type and level.

When a job's rate also depends on how its GPUs split over servers (the
``best`` synchronisation strategy, a two-server factor, contention), the
choice is a *shape* ``(l, n, m)``: spread level, servers used and GPUs on the
fullest one. With uniform servers per type the rate depends on nothing else,
and the shape is pinned exactly: ``sum_s y[j,s] = n``, ``x[j,s] <= m``, and one
server ``h[j,s] = 1`` (``sum_s h = sum u``, ``h <= y``) holds ``x[j,s] >= m``.

Variables and constraints (``g_j`` GPUs; ``y[j,s]``, ``z[j,r]`` servers and
racks used; ``p[a,b,t]`` jobs ``a < b`` co-located on type ``t``):

* ``run``:        ``sum_{t,l} u[j,t,l] <= 1``
* ``gpus``:       ``sum_{s of t} x[j,s] = g_j sum_l u[j,t,l]``   for each ``t``
* ``used``:       ``y[j,s] <= x[j,s] <= min(g_j, cap_s) y[j,s]``; ``y[j,s] <= z[j,r(s)]``,
  ``z[j,r] <= sum_{s in r} y[j,s]``
* ``level``:      ``U0 + 2 U1 + 2 U2 <= sum_s y[j,s] <= U0 + S (U1 + U2)`` and
  ``U0 + U1 + 2 U2 <= sum_r z[j,r] <= U0 + U1 + R U2``  (``Ul = sum_t u[j,t,l]``)
* ``pairs``:      ``sum_{b,t} p[a,b,t] <= 1`` per job; ``p[a,b,t] <= sum_l u[a,t,l]`` and
  the same for ``b``; ``|x[a,s] - x[b,s]| <= g (1 - P_ab)``
* ``capacity``:   ``sum_j x[j,s] - sum_{a<b} w[a,b,s] <= cap_s`` with
  ``w = x[a,s] P_ab`` linearised (``w <= x``, ``w <= g P``, ``w >= x - g (1 - P)``)

One-GPU jobs need no server variables: every GPU of a type gives them the
same throughput, so they only count against their type's capacity::

    sum_{g_j>1} sum_{s of t} x[j,s] - sum w + sum_{g_j=1} u[j,t,0]
        - sum_{1-GPU pairs on t} p <= G_t

and are given leftover GPUs of their type after solving (a co-located pair
shares one). This removes most variables and all server symmetry for them.
* ``objective``:  ``n_j = sum_{t,l} thr[j,t,l]/ref_j (u[j,t,l] - sum_b (1 - f_jbt) q[j,b,t,l])``
  with ``q = u AND p`` linearised; weighted sum, GPUs used, or the minimum.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from ...core import Unsupported
from ...solvers.linear import ModelBuilder
from .instance import PlacementInstance, PlacementObjective
from .solution import PlacementSolution

LEVELS = (0, 1, 2)


def _tag(shape: tuple[int, ...]) -> str:
    return "_".join(map(str, shape))


@dataclass(frozen=True)
class Pair:
    a: int
    b: int
    gpu_type: str
    f_a: float  # factor on a's throughput next to b
    f_b: float


class Formulation:
    """Precomputed sets and coefficients for one placement instance."""

    def __init__(self, instance: PlacementInstance) -> None:
        self.instance = instance
        self.cluster = instance.cluster
        self._check_uniform()

    def _check_uniform(self) -> None:
        c = self.cluster
        for t, servers in c.type2servers.items():
            links = {(c.servers[s].link_bandwidth, c.servers[s].nic_bandwidth) for s in servers}
            uplinks = {c.racks[c.server2rack[s]].uplink_bandwidth for s in servers}
            if len(links) > 1 or len(uplinks) > 1:
                raise Unsupported(
                    f"placement exact models need servers of GPU type {t!r} to share "
                    "link and NIC bandwidths, and their racks one uplink bandwidth"
                )

    @cached_property
    def split(self) -> bool:
        """Whether rates depend on the split over servers, not just the spread level."""
        model = self.instance.model
        return model.split_dependent() or any(
            j.num_gpus > 1 and model.split_dependent(model.catalog[j.job_type])
            for j in self.instance.jobs
        )

    @cached_property
    def servers(self) -> dict[str, list[int]]:
        return {t: list(v) for t, v in self.cluster.type2servers.items()}

    def canonical(self, t: str, g: int, level: int) -> list[int] | None:
        """A GPU set of type ``t``, size ``g`` and spread ``level``, or None if none exists."""
        c = self.cluster
        servers = self.servers[t]
        if level == 0:
            for s in servers:
                if c.servers[s].num_gpus >= g:
                    return list(c.server_gpus(s))[:g]
            return None
        if g < 2:
            return None
        by_rack: dict[int, list[int]] = {}
        for s in servers:
            by_rack.setdefault(c.server2rack[s], []).append(s)
        if level == 1:
            for group in by_rack.values():
                if len(group) >= 2 and sum(c.servers[s].num_gpus for s in group) >= g:
                    return self._fill(group, g)
            return None
        if len(by_rack) >= 2 and sum(c.servers[s].num_gpus for s in servers) >= g:
            racks = list(by_rack.values())
            first = [racks[0][0]]
            rest = [s for group in racks[1:] for s in group] + [s for s in racks[0][1:]]
            return self._fill(first + rest, g)
        return None

    def _fill(self, servers: list[int], g: int) -> list[int]:
        """One GPU from each of the first two servers, then fill in order."""
        c = self.cluster
        gpus = [c.first_gpu[servers[0]], c.first_gpu[servers[1]]]
        for s in servers:
            for gpu in c.server_gpus(s):
                if len(gpus) >= g:
                    return gpus
                if gpu not in gpus:
                    gpus.append(gpu)
        return gpus

    def shapes(self, t: str, g: int) -> dict[tuple[int, ...], list[int]]:
        """Realisable shapes of a ``g``-GPU job on type ``t`` with a canonical GPU set each:
        ``(l,)`` per spread level, or (:attr:`split`) ``(l, n, m)``."""
        out: dict[tuple[int, ...], list[int]] = {}
        for level in LEVELS:
            gpus = self.canonical(t, g, level)
            if gpus is None:
                continue
            if not self.split:
                out[(level,)] = gpus
            elif level == 0:
                out[(0, 1, g)] = gpus
            else:
                out.update(self._split_shapes(t, g, level))
        return out

    def _split_shapes(self, t: str, g: int, level: int) -> dict[tuple[int, ...], list[int]]:
        """Shapes ``(level, n, m)`` with a canonical set each: ``n`` servers (one rack
        at level 1, at least two racks at level 2), the first holding ``m`` GPUs."""
        c = self.cluster
        by_rack = self.racks_of(self.servers[t])
        size = {s: c.servers[s].num_gpus for s in self.servers[t]}
        if level == 1:
            groups = [sorted(v, key=lambda s: -size[s]) for v in by_rack.values()]
        else:  # the largest server of the two best racks first, then the largest left
            racks = sorted(by_rack.values(), key=lambda v: -max(size[s] for s in v))
            if len(racks) < 2:
                return {}
            heads = [max(r, key=lambda s: size[s]) for r in racks[:2]]
            rest = sorted((s for s in self.servers[t] if s not in heads), key=lambda s: -size[s])
            groups = [sorted(heads, key=lambda s: -size[s]) + rest]
        out: dict[tuple[int, ...], list[int]] = {}
        for group in groups:
            for n in range(2, min(g, len(group)) + 1):
                chosen = group[:n]
                for m in range(-(-g // n), min(g - n + 1, size[chosen[0]]) + 1):
                    counts = [m]
                    left = g - m
                    for i, s in enumerate(chosen[1:], start=1):
                        take = min(m, size[s], left - (n - 1 - i))
                        counts.append(take)
                        left -= take
                    if left or min(counts) < 1:
                        continue
                    key = (level, n, m)
                    if key not in out:
                        out[key] = [
                            gpu for s, k in zip(chosen, counts) for gpu in c.server_gpus(s)[:k]
                        ]
        return out

    def key(self, j: int, gpus: Iterable[int]) -> tuple[int, str, tuple[int, ...]]:
        """The ``u`` key of job ``j`` on GPU set ``gpus``."""
        c = self.cluster
        gpus = list(gpus)
        level = c.spread(gpus)
        if not self.split:
            return j, c.gpu2type[gpus[0]], (level,)
        per: dict[int, int] = {}
        for g in gpus:
            per[c.gpu2server[g]] = per.get(c.gpu2server[g], 0) + 1
        return j, c.gpu2type[gpus[0]], (level, len(per), max(per.values()))

    @cached_property
    def options(self) -> dict[tuple[int, str, tuple[int, ...]], float]:
        """``(j, t, shape) -> thr / ref_j`` for every realisable choice."""
        inst = self.instance
        out: dict[tuple[int, str, tuple[int, ...]], float] = {}
        for j, job in enumerate(inst.jobs):
            for t in inst.pools[job.id]:
                shapes = self.shapes(t, job.num_gpus)
                for shape, gpus in sorted(shapes.items()):
                    out[j, t, shape] = (
                        inst.model.isolated(job.job_type, gpus) / inst.reference[job.id]
                    )
        return out

    @cached_property
    def pairs(self) -> list[Pair]:
        inst = self.instance
        if not inst.space_sharing:
            return []
        out = []
        for a, ja in enumerate(inst.jobs):
            for b in range(a + 1, len(inst.jobs)):
                jb = inst.jobs[b]
                if ja.num_gpus != jb.num_gpus:
                    continue
                for t in inst.pools[ja.id]:
                    if t not in inst.pools[jb.id]:
                        continue
                    fa = inst.model.interference(ja.job_type, jb.job_type, t, ja.num_gpus)
                    fb = inst.model.interference(jb.job_type, ja.job_type, t, ja.num_gpus)
                    if fa is not None and fb is not None:
                        out.append(Pair(a, b, t, fa, fb))
        return out

    def job_servers(self, j: int) -> list[int]:
        job = self.instance.jobs[j]
        return [s for t in self.instance.pools[job.id] for s in self.servers[t]]

    @cached_property
    def multi(self) -> list[int]:
        """Jobs with more than one GPU: these get server variables."""
        return [j for j, job in enumerate(self.instance.jobs) if job.num_gpus > 1]

    @cached_property
    def single(self) -> list[int]:
        return [j for j, job in enumerate(self.instance.jobs) if job.num_gpus == 1]

    def racks_of(self, servers: list[int]) -> dict[int, list[int]]:
        out: dict[int, list[int]] = {}
        for s in servers:
            out.setdefault(self.cluster.server2rack[s], []).append(s)
        return out

    # -------------------------------------------------------------- solutions
    def to_solution(
        self,
        counts: dict[tuple[int, int], int],
        partner: dict[int, int],
        single_type: dict[int, str],
    ) -> PlacementSolution:
        """GPU ids: multi-GPU jobs (or pairs) take the next free GPUs of their servers,
        then one-GPU jobs (or pairs) take leftover GPUs of their type."""
        inst = self.instance
        c = self.cluster
        nxt = {s: c.first_gpu[s] for s in range(len(c.servers))}
        out: dict[str, tuple[int, ...]] = {}
        for j in self.multi:
            if inst.jobs[j].id in out:
                continue
            gpus: list[int] = []
            for s in range(len(c.servers)):
                k = counts.get((j, s), 0)
                gpus += range(nxt[s], nxt[s] + k)
                nxt[s] += k
            if gpus:
                out[inst.jobs[j].id] = tuple(gpus)
                if j in partner:
                    out[inst.jobs[partner[j]].id] = tuple(gpus)
        left = {
            t: [
                g
                for s in self.servers[t]
                for g in range(nxt[s], c.first_gpu[s] + c.servers[s].num_gpus)
            ]
            for t in self.servers
        }
        for j in self.single:
            if inst.jobs[j].id in out or j not in single_type:
                continue
            gpu = left[single_type[j]].pop(0)
            out[inst.jobs[j].id] = (gpu,)
            if j in partner:
                out[inst.jobs[partner[j]].id] = (gpu,)
        solution: PlacementSolution = inst.annotate(out)
        return solution

    def from_solution(
        self, sol: PlacementSolution
    ) -> tuple[
        dict[tuple[int, int], int],
        dict[tuple[int, str, tuple[int, ...]], int],
        dict[tuple[int, int], int],
    ]:
        """Counts, ``u`` and pair values of a (feasible) solution, for warm starts."""
        inst = self.instance
        c = self.cluster
        counts: dict[tuple[int, int], int] = {}
        u: dict[tuple[int, str, tuple[int, ...]], int] = {}
        for jid, gpus in sol.assignment.items():
            j = inst.job_index.get(jid)
            if j is None or not gpus:
                continue
            for g in gpus:
                counts[j, c.gpu2server[g]] = counts.get((j, c.gpu2server[g]), 0) + 1
            u[self.key(j, gpus)] = 1
        paired: dict[tuple[int, int], int] = {}
        for pair in self.pairs:
            ga = sol.assignment.get(inst.jobs[pair.a].id)
            gb = sol.assignment.get(inst.jobs[pair.b].id)
            if ga and ga == gb and c.gpu2type[ga[0]] == pair.gpu_type:
                paired[pair.a, pair.b] = 1
        return counts, u, paired


def objective_terms(f: Formulation) -> tuple[dict[int, list[tuple[float, tuple]]], list[tuple]]:
    """Per job, ``(coefficient, key)`` terms of its normalised throughput ``n_j``.

    Keys are ``("u", j, t, l)`` or ``("q", pair_index, j, l)``; the second list
    holds every ``q`` key (``u[j,t,l] AND p[pair]``) the models must create.
    """
    terms: dict[int, list[tuple[float, tuple]]] = {j: [] for j in range(len(f.instance.jobs))}
    qkeys = []
    by_job_type: dict[tuple[int, str], list[tuple[tuple[int, ...], float]]] = {}
    for (j, t, lv), n in f.options.items():
        terms[j].append((n, ("u", j, t, lv)))
        by_job_type.setdefault((j, t), []).append((lv, n))
    for idx, q in enumerate(f.pairs):
        for j, fac in ((q.a, q.f_a), (q.b, q.f_b)):
            if fac == 1.0:
                continue
            for lv, value in by_job_type.get((j, q.gpu_type), []):
                key = ("q", idx, j, lv)
                qkeys.append(key)
                terms[j].append((-value * (1.0 - fac), key))
    return terms, qkeys


class PlacementModel:
    """Variables and constraint families of every back-end, in the formulation's order.

    Written against the linear layer's protocol (``lm``): any MILP back-end
    takes it as it is, with the standard linearisations of ``w = x P`` and
    ``q = u AND p``. CP-SAT (:mod:`.cpsat`) overrides those two with its
    enforcement literals and scales the objective's coefficients (``coef``).
    """

    def __init__(self, f: Formulation, lm: ModelBuilder) -> None:
        self.f = f
        self.lm = lm
        self.inst = f.instance
        self.jobs = range(len(self.inst.jobs))
        self.shared: dict[tuple[int, int, int], Any] = {}
        self.on_servers = self.server_jobs()
        self.x_jobs = set(self.on_servers)
        self.variables()
        self.run_once()
        self.gpus()
        self.used()
        self.level()
        self.pairs()
        self.capacity()

    # ------------------------------------------------------------- primitives
    def binary(self, name: str) -> Any:
        return self.lm.binary(name)

    def integer(self, name: str, lo: int, hi: int) -> Any:
        return self.lm.integer(name, lo, hi)

    def add(self, constraint: Any) -> None:
        self.lm.add(constraint)

    def total(self, items: Iterable[Any]) -> Any:
        return self.lm.total(items)

    def start(self, var: Any, value: int) -> None:
        self.lm.start(var, value)

    def coef(self, value: float) -> Any:
        return value

    def link_pair(self, q: Pair, v: Any, s: int) -> Any:
        """``x[a,s] = x[b,s]`` when ``v``; returns ``w = x[a,s] v`` (GPUs shared on ``s``):
        ``|x[a,s] - x[b,s]| <= g (1 - v)``, ``w <= x[a,s]``, ``w <= g v``,
        ``w >= x[a,s] - g (1 - v)``."""
        g = self.cap[q.a, s]
        self.add(self.x[q.a, s] - self.x[q.b, s] <= g * (1 - v))
        self.add(self.x[q.b, s] - self.x[q.a, s] <= g * (1 - v))
        w = self.lm.continuous(f"w_{q.a}_{q.b}_{s}", 0, g)
        self.add(w <= self.x[q.a, s])
        self.add(w <= g * v)
        self.add(w >= self.x[q.a, s] - g * (1 - v))
        return w

    def conjunction(self, a: Any, b: Any, name: str) -> Any:
        """A binary equal to ``a AND b``: ``c <= a``, ``c <= b``, ``c >= a + b - 1``."""
        both = self.binary(name)
        self.add(both <= a)
        self.add(both <= b)
        self.add(both >= a + b - 1)
        return both

    def objective(self) -> None:
        """Weighted ``sum_j w_j n_j``, GPUs in use, or ``tau <= n_j`` for every job."""
        inst = self.inst
        if inst.objective is PlacementObjective.GPUS_USED:
            self.lm.maximize(self.total(self.gpus_in_use()))
            return
        terms = self.value_terms()
        if inst.objective is PlacementObjective.WEIGHTED_THROUGHPUT:
            self.lm.maximize(
                self.total(inst.jobs[j].weight * c * v for j in self.jobs for c, v in terms[j])
            )
            return
        tau = self.lm.continuous("tau", 0)
        for j in self.jobs:
            self.add(tau <= self.total(c * v for c, v in terms[j]))
        self.lm.maximize(tau)

    def server_jobs(self) -> list[int]:
        """Jobs given GPU counts per server: those with more than one GPU."""
        return self.f.multi

    # ------------------------------------------------------------- families
    def variables(self) -> None:
        f, c = self.f, self.f.cluster
        self.u = {k: self.binary(f"u_{k[0]}_{k[1]}_{_tag(k[2])}") for k in f.options}
        self.u_of: dict[int, list[tuple[str, tuple[int, ...], Any]]] = {j: [] for j in self.jobs}
        for (j, t, lv), var in self.u.items():
            self.u_of[j].append((t, lv, var))
        self.x: dict[tuple[int, int], Any] = {}
        self.y: dict[tuple[int, int], Any] = {}
        self.z: dict[tuple[int, int], Any] = {}
        self.cap: dict[tuple[int, int], int] = {}
        for j in self.on_servers:
            g = self.inst.jobs[j].num_gpus
            for s in f.job_servers(j):
                self.cap[j, s] = min(g, c.servers[s].num_gpus)
                self.x[j, s] = self.integer(f"x_{j}_{s}", 0, self.cap[j, s])
                self.y[j, s] = self.binary(f"y_{j}_{s}")
            for r in f.racks_of(f.job_servers(j)):
                self.z[j, r] = self.binary(f"z_{j}_{r}")
        self.p = [self.binary(f"p_{i}") for i in range(len(f.pairs))]

    def _u(self, j: int, level: int | None = None, t: str | None = None) -> list[Any]:
        return [v for tt, lv, v in self.u_of[j] if level in (None, lv[0]) and t in (None, tt)]

    def run_once(self) -> None:
        """``sum_{t,l} u[j,t,l] <= 1``."""
        for j in self.jobs:
            self.add(self.total(self._u(j)) <= 1)

    def gpus(self) -> None:
        """``sum_{s of t} x[j,s] = g_j sum_l u[j,t,l]`` (multi-GPU jobs)."""
        for j in self.on_servers:
            job = self.inst.jobs[j]
            for t in self.inst.pools[job.id]:
                on_t = self.total(self.x[j, s] for s in self.f.servers[t])
                self.add(on_t == job.num_gpus * self.total(self._u(j, t=t)))

    def used(self) -> None:
        """``y <= x <= min(g, cap) y``; ``y[j,s] <= z[j,r(s)] <= sum_{s in r} y[j,s]``."""
        f = self.f
        for (j, s), x in self.x.items():
            self.add(x >= self.y[j, s])
            self.add(x <= self.cap[j, s] * self.y[j, s])
            self.add(self.y[j, s] <= self.z[j, f.cluster.server2rack[s]])
        for (j, r), z in self.z.items():
            self.add(z <= self.total(self.y[j, s] for s in f.racks_of(f.job_servers(j))[r]))

    def level(self) -> None:
        """Servers and racks used match the chosen spread level exactly."""
        f = self.f
        for j in self.on_servers:
            u0, u1, u2 = (self.total(self._u(j, level=lv)) for lv in LEVELS)
            servers = f.job_servers(j)
            ys = self.total(self.y[j, s] for s in servers)
            zs = self.total(self.z[j, r] for r in f.racks_of(servers))
            self.add(ys >= u0 + 2 * u1 + 2 * u2)
            self.add(ys <= u0 + len(servers) * (u1 + u2))
            self.add(zs >= u0 + u1 + 2 * u2)
            self.add(zs <= u0 + u1 + len(f.racks_of(servers)) * u2)
            if not f.split:
                continue
            # the shape: n servers exactly, none holding more than m of the job's GPUs,
            # and the one marked fullest (h) holding m
            g = self.inst.jobs[j].num_gpus
            shapes = self.u_of[j]
            self.add(ys == self.total(lv[1] * v for _, lv, v in shapes))
            h = {s: self.binary(f"h_{j}_{s}") for s in servers}
            self.add(self.total(h.values()) == self.total(v for _, _, v in shapes))
            for s in servers:
                t = f.cluster.servers[s].gpu_type
                most = self.total(lv[2] * v for tt, lv, v in shapes if tt == t)
                self.add(self.x[j, s] <= most)
                self.add(self.x[j, s] >= most - g * (1 - h[s]))
                self.add(h[s] <= self.y[j, s])

    def pairs(self) -> None:
        """At most one partner; both run on the pair's type; identical GPU sets."""
        f = self.f
        partners: dict[int, list[Any]] = {}
        for q, v in zip(f.pairs, self.p):
            partners.setdefault(q.a, []).append(v)
            partners.setdefault(q.b, []).append(v)
        for j in self.jobs:
            mine = partners.get(j, [])
            if len(mine) > 1:
                self.add(self.total(mine) <= 1)
        for q, v in zip(f.pairs, self.p):
            for j in (q.a, q.b):
                self.add(v <= self.total(self._u(j, t=q.gpu_type)))
            if q.a not in self.x_jobs:
                continue  # one-GPU pairs share a GPU picked after solving
            for s in f.servers[q.gpu_type]:
                self.shared[q.a, q.b, s] = self.link_pair(q, v, s)

    def gpus_in_use(self, t: str | None = None) -> list[Any]:
        """Terms whose sum is the number of GPUs in use (of type ``t``, or all)."""
        c, f = self.f.cluster, self.f
        items: list[Any] = [x for (_, s), x in self.x.items() if t in (None, c.servers[s].gpu_type)]
        items += [
            -1 * w for (_, _, s), w in self.shared.items() if t in (None, c.servers[s].gpu_type)
        ]
        items += [v for (j, tt, _), v in self.u.items() if j in f.single and t in (None, tt)]
        items += [
            -1 * v
            for q, v in zip(f.pairs, self.p)
            if self.inst.jobs[q.a].num_gpus == 1 and t in (None, q.gpu_type)
        ]
        return items

    def capacity(self) -> None:
        """Per server: ``sum_j x[j,s] - sum w <= cap_s``; per type: every GPU in use fits."""
        c = self.f.cluster
        load: dict[int, list[Any]] = {}
        for (_, s), x in self.x.items():
            load.setdefault(s, []).append(x)
        for (_, _, s), w in self.shared.items():
            load.setdefault(s, []).append(-1 * w)
        for s, items in load.items():
            self.add(self.total(items) <= c.servers[s].num_gpus)
        for t in c.gpu_types:
            items = self.gpus_in_use(t)
            if items:
                self.add(self.total(items) <= c.capacity(t))

    def value_terms(self) -> dict[int, list[Any]]:
        """Per job, the terms of ``n_j`` (coefficients through :meth:`coef`)."""
        terms, qkeys = objective_terms(self.f)
        var: dict[tuple, Any] = {("u", *k): v for k, v in self.u.items()}
        for key in qkeys:
            _, idx, j, lv = key
            q = self.f.pairs[idx]
            var[key] = self.conjunction(
                self.u[j, q.gpu_type, lv], self.p[idx], f"q_{idx}_{j}_{_tag(lv)}"
            )
        return {j: [(coef, var[key]) for coef, key in items] for j, items in terms.items()}

    def hint(self, counts: dict, u: dict, paired: dict) -> None:
        for k, v in self.u.items():
            self.start(v, u.get(k, 0))
        for (j, s), v in self.x.items():
            self.start(v, counts.get((j, s), 0))
            self.start(self.y[j, s], int(counts.get((j, s), 0) > 0))
        for q, v in zip(self.f.pairs, self.p):
            self.start(v, paired.get((q.a, q.b), 0))
