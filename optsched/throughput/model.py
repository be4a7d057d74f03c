"""The throughput model: job type x placement x co-located partner -> iterations/s.

Throughputs are training iterations per second summed over the job's workers,
the unit of Gavel's table. For a job of type ``j`` on GPU set ``S`` (all of
type ``g``, ``k = |S|``) the model is

.. math::

    \\mathrm{thr}(j, S, q) = \\mathrm{iso}(j, S) \\times f(j, q, g, k)

with ``f = 1`` without a partner. The isolated throughput uses measurements
first and the parametric model elsewhere:

1. ``S`` on one server and ``(j, g, k)`` measured: Gavel's consolidated value.
2. ``S`` over several servers of one rack and an unconsolidated value measured:
   that value. (For 44 of Gavel's 165 unconsolidated entries it is above the
   consolidated one, by up to 35.5%; ``spread="no_gain"`` takes
   ``min(consolidated, unconsolidated)`` instead, the reading that spreading
   never helps. ``optsched throughput validate`` lists the evidence.)
3. Any other placement of a measured ``(j, g, k)``: start from the nearest
   measured placement (time per iteration ``k / thr``) and add the exposed
   communication time the extra hop costs:
   ``t = k / thr_anchor + X(S) - X(anchor)``.
4. ``j`` measured on ``g`` but not at ``k`` GPUs (e.g. 3, 6 or 16): the
   consolidated value is ``k * thr(j, g, 1) * e(k)`` with the per-GPU scaling
   efficiency ``e(k) = thr(k') / (k' thr(1))`` interpolated linearly in
   ``log2 k`` between measured scale factors ``k'`` (held constant beyond the
   largest), then rule 3 for the placement.
5. Otherwise: ``t = c' + X(S)`` from the one-GPU compute time ``c``.

Here ``c' = c (1 + d (m - 1))`` is the compute time with ``m`` of the job's GPUs
on its fullest server (``d`` is the job type's ``contention``), and the exposed
communication is ``X(S) = max(0, C(S) - phi c')`` with ``phi`` the job type's
``overlap``. The all-reduce takes ``C(S) = R(B(S)) x f2 + L`` for ``k >= 2``:
the ring time ``R(B) = 2(k-1)/k * M / B`` (:mod:`optsched.throughput.comm`)
over the bottleneck bandwidth ``B(S)`` of ``S`` in the cluster tree
(:meth:`optsched.model.topology.Cluster.bottleneck_bandwidth`), times the
cluster's ``two_server_factor`` ``f2`` when ``S`` spans exactly two servers,
plus its ``allreduce_latency`` ``L``. The testbed presets of
:mod:`optsched.throughput.testbeds` fit ``B``, ``L``, ``f2``, ``phi`` and ``d``
on measured placements; elsewhere ``L = 0``, ``f2 = 1``, ``d = 0``.

Interference ``f(j, q, g, k)`` is Gavel's measured co-located throughput of
``j`` next to ``q`` divided by ``j``'s isolated throughput. For pairs Gavel did
not measure, ``unmeasured_interference`` decides: ``"fitted"`` (the default),
the pressure-sensitivity model of :mod:`optsched.throughput.interference`
(pairs recorded as not fitting on one GPU still may not share); ``"forbid"``,
such pairs may not share GPUs; or a constant factor in (0, 1].
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from functools import lru_cache

from ..errors import InputError, check_positive_int
from ..model.topology import Cluster
from .comm import LayerGroup, Network, best_group_strategy, ring_allreduce_time, strategy_times
from .interference import fitted
from .jobtypes import Catalog, JobType, default_catalog

#: What the model does with co-located pairs Gavel did not measure (or a factor).
INTERFERENCE_MODES = ("fitted", "forbid")
#: Rule 2's choices.
SPREAD_RULES = ("measured", "no_gain")
#: How a job synchronises: ring all-reduce always, or the fastest strategy of
#: :func:`optsched.throughput.comm.strategy_times` for its placement.
STRATEGY_RULES = ("ring", "best")


def check_interference(value: object, ctx: str = "throughput model") -> float | str:
    """``unmeasured_interference`` validated: a mode, or a factor in (0, 1]."""
    if isinstance(value, str) and value in INTERFERENCE_MODES:
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool) and 0 < value <= 1:
        return float(value)
    raise InputError(
        f"{ctx}: unmeasured_interference must be fitted, forbid or a factor in (0, 1], "
        f"got {value!r}"
    )


def check_strategy(
    strategy: object, spare_cpu_servers: object, ctx: str = "throughput model"
) -> None:
    """``strategy`` and ``spare_cpu_servers`` validated."""
    if strategy not in STRATEGY_RULES:
        raise InputError(
            f"{ctx}: strategy must be one of {', '.join(STRATEGY_RULES)}, got {strategy!r}"
        )
    check_positive_int(spare_cpu_servers, "spare_cpu_servers", ctx, minimum=0)


class ThroughputModel:
    """Throughputs of jobs on a given cluster.

    Parameters
    ----------
    cluster
        Where jobs run.
    catalog
        Job types (default: Gavel's measured types).
    locality
        If False, every placement gets its consolidated (one-server) throughput.
    unmeasured_interference
        For co-located pairs without a measurement: ``"fitted"`` (the fitted
        model), ``"forbid"`` (they may not share GPUs) or a factor in (0, 1].
    spread
        Rule 2: ``"measured"`` (the unconsolidated measurement) or ``"no_gain"``
        (``min(consolidated, unconsolidated)``).
    strategy
        ``"ring"`` (every job all-reduces in a ring) or ``"best"``: each job on
        each placement synchronises with the fastest strategy of
        :func:`~optsched.throughput.comm.strategy_times` (ring, halving-doubling,
        tree, hierarchical, parameter servers, BytePS with
        ``spare_cpu_servers``). A strategy changes only its job's time, so
        choosing it per placement is the joint optimum with the GPUs, with one
        caveat: each job may use all ``spare_cpu_servers`` (they are not shared
        between jobs). :meth:`strategy_for` names the choice. A placement Gavel
        measured keeps its measurement (its ring). For a placement with unequal
        GPUs per server the other strategies are costed as if every server held
        as many as the fullest (an approximation); the ring is exact.
    """

    def __init__(
        self,
        cluster: Cluster,
        catalog: Catalog | None = None,
        *,
        locality: bool = True,
        unmeasured_interference: float | str = "fitted",
        spread: str = "measured",
        strategy: str = "ring",
        spare_cpu_servers: int = 0,
    ) -> None:
        self.cluster = cluster
        self.catalog = catalog or default_catalog()
        self.locality = locality
        self.unmeasured_interference = check_interference(unmeasured_interference)
        if spread not in SPREAD_RULES:
            raise InputError(f"spread must be one of {', '.join(SPREAD_RULES)}, got {spread!r}")
        self.spread = spread
        check_strategy(strategy, spare_cpu_servers)
        self.strategy = strategy
        self.spare_cpu_servers = spare_cpu_servers
        self._iso = lru_cache(maxsize=None)(self._iso_uncached)
        self._packed: dict[tuple[str, str, int], float] = {}
        self._compact: dict[tuple[str, str, int], float] = {}

    # ----------------------------------------------------------- components
    def job_type(self, name: str) -> JobType:
        return self.catalog[name]

    def runs_on(self, job_type: str, gpu_type: str) -> bool:
        """Whether the model knows a throughput for ``job_type`` on ``gpu_type``."""
        jt = self.catalog[job_type]
        return (job_type, gpu_type) in self.catalog.table.pairs or jt.compute_on(
            gpu_type
        ) is not None

    def consolidated(self, job_type: str, gpu_type: str, k: int) -> float:
        """Isolated throughput of ``k`` GPUs packed on one server of ``gpu_type``, in a
        ring whatever the strategy rule (it normalises jobs, so ring and best
        objectives stay comparable).

        For ``k`` larger than any server this is the throughput the job would
        have on one (hypothetical) big server: a reference, not a placement.
        """
        key = (job_type, gpu_type, k)
        got = self._packed.get(key)
        if got is None:
            bw = (
                self.cluster.server_bandwidth(gpu_type)
                if gpu_type in self.cluster.type2servers
                else math.inf
            )
            got = self._packed[key] = self._iso(
                job_type, gpu_type, k, 0, bw, bw, bw, 1, k, False, "ring"
            )[0]
        return got

    def fastest(self, job_type: str, gpu_type: str, k: int) -> float:
        """No placement of ``k`` GPUs of ``gpu_type`` gives the job more.

        With one strategy and no split effects this is the consolidated throughput,
        or (rule 2) a measured spread one above it. When spreading can pay (the
        ``best`` strategy, a two-server factor, contention), the time per iteration
        is still at least the compute time (rule 5) or the measured time less the
        communication it contains (rule 3), and the bound uses that.
        """
        best = self.consolidated(job_type, gpu_type, k)
        if not self.locality:
            return best
        table = self.catalog.table
        if self.spread == "measured":
            best = max(best, table.unconsolidated.get((job_type, gpu_type, k), 0.0))
        jt = self.catalog[job_type]
        if k > 1 and self.split_dependent(jt):
            c = jt.compute_on(gpu_type)
            m0 = table.isolated.get((job_type, gpu_type, k)) or self._interpolated(jt, gpu_type, k)
            if m0 is None:
                floor = c or 0.0
            else:
                bw = self.cluster.server_bandwidth(gpu_type)
                anchor = self._exposed(jt, c or 0.0, k, bw, bw, 1, k, False, "ring")[0]
                floor = k / m0 - anchor
            best = max(best, k / floor) if floor > 0 else math.inf
        return best

    def split_dependent(self, jt: JobType | None = None) -> bool:
        """Whether the job's rate can depend on how its GPUs split over servers (without
        a job type: whether the strategy rule or the cluster make every job's so)."""
        if self.strategy != "ring" or self.cluster.two_server_factor != 1:
            return True
        return jt is not None and jt.contention > 0

    def compact(self, job_type: str, gpu_type: str, k: int) -> float:
        """Isolated throughput of ``k`` GPUs of ``gpu_type`` placed as compactly as
        this cluster allows: on one server if one is big enough, else within one rack
        if one has enough, else across racks (largest servers first), the best over
        the servers and racks that qualify. 0 if the type has fewer than ``k`` GPUs.

        This is what the job can reach on an empty cluster, unlike
        :meth:`consolidated` for a gang larger than every server of the type.
        """
        key = (job_type, gpu_type, k)
        got = self._compact.get(key)
        if got is None:
            got = self._compact[key] = max(
                (self.isolated(job_type, g) for g in self._compact_sets(gpu_type, k)),
                default=0.0,
            )
        return got

    def _compact_sets(self, gpu_type: str, k: int) -> list[tuple[int, ...]]:
        c = self.cluster
        servers = c.type2servers.get(gpu_type, ())
        first = c.first_gpu
        one = [s for s in servers if c.servers[s].num_gpus >= k]
        if one:
            return [tuple(range(first[s], first[s] + k)) for s in one]

        def greedy(group: Sequence[int]) -> tuple[int, ...]:
            picks: list[int] = []
            for s in sorted(group, key=lambda s: -c.servers[s].num_gpus):
                picks.extend(range(first[s], first[s] + min(c.servers[s].num_gpus, k - len(picks))))
                if len(picks) == k:
                    break
            return tuple(picks)

        racks: dict[int, list[int]] = {}
        for s in servers:
            racks.setdefault(c.server2rack[s], []).append(s)
        within = [
            greedy(group)
            for group in racks.values()
            if sum(c.servers[s].num_gpus for s in group) >= k
        ]
        if within:
            return within
        whole = greedy(servers)
        return [whole] if len(whole) == k else []

    def isolated(self, job_type: str, gpus: Sequence[int], strategy: str | None = None) -> float:
        """Throughput of the job alone on GPU set ``gpus`` (one GPU type), synchronising
        with ``strategy`` if given (default: the model's rule)."""
        return self._isolated(job_type, gpus, strategy)[0]

    def strategy_for(self, job_type: str, gpus: Sequence[int]) -> str:
        """The strategy the job synchronises with on ``gpus`` (``"none"`` on one GPU)."""
        return self._isolated(job_type, gpus, None)[1]

    def strategies(self, job_type: str, gpus: Sequence[int]) -> tuple[str, ...]:
        """The strategies that apply to the job on ``gpus``: only the ring where the
        model takes a measurement as it stands (or packs every job, ``locality``
        off), where the measured run's strategy is the only one known."""
        k = len(gpus)
        if k < 2:
            return ("none",)
        if not self.locality:
            return ("ring",)
        gpu_type, level, bw, _, b_server, servers, fullest, switched = self._facts(gpus)
        jt = self.catalog[job_type]
        table = self.catalog.table
        measured = table.isolated.get((job_type, gpu_type, k)) or self._interpolated(
            jt, gpu_type, k
        )
        if measured is not None and (
            level == 0 or (level == 1 and (job_type, gpu_type, k) in table.unconsolidated)
        ):
            return ("ring",)
        return tuple(self._comm_times(jt, k, bw, b_server, servers, fullest, switched))

    def _facts(self, gpus: Sequence[int]) -> tuple[str, int, float, float, float, int, int, bool]:
        c = self.cluster
        per_server: dict[int, int] = {}
        for g in gpus:
            s = c.gpu2server[g]
            per_server[s] = per_server.get(s, 0) + 1
        k = len(gpus)
        b_server = min(c.servers[s].link_bandwidth for s in per_server) if k > 1 else math.inf
        switched = all(c.servers[s].link.value == "nvswitch" for s in per_server)
        return (
            c.gpu2type[gpus[0]],
            c.spread(gpus),
            c.bottleneck_bandwidth(gpus),
            c.rack_bandwidth(gpus),
            b_server,
            len(per_server),
            max(per_server.values()),
            switched,
        )

    def _isolated(
        self, job_type: str, gpus: Sequence[int], strategy: str | None
    ) -> tuple[float, str]:
        k = len(gpus)
        if strategy is not None:
            applies = self.strategies(job_type, gpus)
            if strategy not in applies:
                raise InputError(
                    f"strategy {strategy!r} does not apply to {job_type!r} on {k} GPU(s) "
                    f"(applies: {', '.join(applies)})"
                )
        if not self.locality:
            gpu_type = self.cluster.gpu2type[gpus[0]]
            return self.consolidated(job_type, gpu_type, k), "ring" if k > 1 else "none"
        gpu_type, level, bw, bw_rack, b_server, servers, fullest, switched = self._facts(gpus)
        return self._iso(
            job_type, gpu_type, k, level, bw, bw_rack, b_server, servers, fullest, switched,
            strategy,
        )  # fmt: skip

    def _iso_uncached(
        self,
        job_type: str,
        gpu_type: str,
        k: int,
        level: int,
        bw: float,
        bw_rack: float,
        bw_server: float,
        servers: int = 1,
        fullest: int | None = None,
        switched: bool = False,
        strategy: str | None = None,
    ) -> tuple[float, str]:
        jt = self.catalog[job_type]
        table = self.catalog.table
        fullest = k if fullest is None else fullest
        c = jt.compute_on(gpu_type)
        m0 = table.isolated.get((job_type, gpu_type, k)) or self._interpolated(jt, gpu_type, k)

        def exposed(
            bw_: float, servers_: int, fullest_: int, force: str | None = strategy
        ) -> tuple[float, str]:
            return self._exposed(
                jt, c or 0.0, k, bw_, bw_server, servers_, fullest_, switched, force
            )

        if m0 is not None:
            if level == 0:
                return m0, "ring" if k > 1 else "none"
            here, name = exposed(bw, servers, fullest)
            m1 = table.unconsolidated.get((job_type, gpu_type, k))
            if m1 is not None:
                t = k / (min(m0, m1) if self.spread == "no_gain" else m1)
                if level < 2:  # as measured: the measured run's ring, its time stands
                    return k / t, "ring"
                # the measured run's ring inside one rack, swapped for this one
                return k / (t + here - exposed(bw_rack, servers, fullest, "ring")[0]), name
            anchor = exposed(bw_server, 1, k, "ring")[0]  # the measured one-server ring
            return k / (k / m0 + here - anchor), name
        if c is None:
            raise InputError(f"job type {job_type!r}: no throughput known on GPU type {gpu_type!r}")
        here, name = exposed(bw, servers, fullest)
        return k / (_compute(jt, c, fullest) + here), name

    def _network(
        self, bw: float, bw_server: float, servers: int, fullest: int, switched: bool
    ) -> Network:
        return Network(
            servers,
            fullest,
            bw_server if servers > 1 else bw,
            bw if servers > 1 else math.inf,
            0.0,
            self.spare_cpu_servers,
            switched,
        )

    def _comm_times(
        self,
        jt: JobType,
        k: int,
        bw: float,
        bw_server: float,
        servers: int,
        fullest: int,
        switched: bool,
    ) -> dict[str, float]:
        """Seconds per synchronisation under each strategy that applies (ring only
        under ``strategy="ring"``; ``per_layer`` when the job type lists its layers)."""
        times = {"ring": ring_allreduce_time(jt.model_bytes, k, bw)}
        if self.strategy == "best" and jt.model_bytes > 0:
            net = self._network(bw, bw_server, servers, fullest, switched)
            for name, t in strategy_times(jt.model_bytes, net).items():
                if name != "ring":
                    times[name] = t
            if jt.layers:
                times["per_layer"] = sum(t for _, _, t in self._layer_choice(jt, net))
        return times

    @staticmethod
    def _layer_choice(jt: JobType, net: Network) -> list[tuple[LayerGroup, str, float]]:
        return [(g, *best_group_strategy(g, net, jt.batch)) for g in jt.layers]

    def layer_strategies(self, job_type: str, gpus: Sequence[int]) -> list[tuple[LayerGroup, str]]:
        """Under ``strategy="best"``, each layer group's fastest strategy on ``gpus``
        (empty if the job type lists no layers or runs on one GPU)."""
        jt = self.catalog[job_type]
        if self.strategy != "best" or not jt.layers or len(gpus) < 2:
            return []
        _, _, bw, _, b_server, servers, fullest, switched = self._facts(gpus)
        net = self._network(bw, b_server, servers, fullest, switched)
        return [(g, name) for g, name, _ in self._layer_choice(jt, net)]

    def _exposed(
        self,
        jt: JobType,
        c: float,
        k: int,
        bw: float,
        bw_server: float,
        servers: int,
        fullest: int,
        switched: bool = False,
        strategy: str | None = None,
    ) -> tuple[float, str]:
        """``X(S)``: the synchronisation time the compute does not hide, and the
        strategy (``strategy`` if given, else the fastest that applies)."""
        if k < 2 or math.isinf(bw):
            return 0.0, "ring" if k > 1 else "none"
        cl = self.cluster
        times = self._comm_times(jt, k, bw, bw_server, servers, fullest, switched)
        factor = cl.two_server_factor if servers == 2 else 1.0
        hidden = jt.overlap * _compute(jt, c, fullest)

        def exposed(name: str) -> float:
            return max(0.0, times[name] * factor + cl.allreduce_latency - hidden)

        # ties (all hidden, say) go to the ring, the first listed
        name = strategy or min(times, key=exposed)
        return exposed(name), name

    def _interpolated(self, jt: JobType, gpu_type: str, k: int) -> float | None:
        """Rule 4: consolidated throughput at an unmeasured scale factor."""
        iso = self.catalog.table.isolated
        one = iso.get((jt.name, gpu_type, 1))
        if one is None:
            return None
        scales = sorted(s for (name, gt, s) in iso if name == jt.name and gt == gpu_type)
        eff = {s: iso[(jt.name, gpu_type, s)] / (s * one) for s in scales}
        if k >= scales[-1]:
            return k * one * eff[scales[-1]]
        lo = max(s for s in scales if s <= k)
        hi = min(s for s in scales if s >= k)
        w = (math.log2(k) - math.log2(lo)) / (math.log2(hi) - math.log2(lo))
        return k * one * ((1 - w) * eff[lo] + w * eff[hi])

    def locality_factor(self, job_type: str, gpus: Sequence[int]) -> float:
        """Isolated throughput on ``gpus`` over the consolidated one (<= 1 in practice)."""
        gpu_type = self.cluster.gpu2type[gpus[0]]
        return self.isolated(job_type, gpus) / self.consolidated(job_type, gpu_type, len(gpus))

    def interference(self, job_type: str, partner: str, gpu_type: str, k: int) -> float | None:
        """Factor on ``job_type``'s throughput when ``partner`` shares its GPUs.

        ``None`` means the pair may not share GPUs.
        """
        table = self.catalog.table
        pair = table.colocated.get((job_type, partner, gpu_type, k))
        if pair is not None:
            return pair[0] / table.isolated[(job_type, gpu_type, k)]
        mode = self.unmeasured_interference
        if not isinstance(mode, str):
            return mode
        if mode == "forbid" or (job_type, partner, gpu_type) in table.unavailable:
            return None
        one = table.colocated.get((job_type, partner, gpu_type, 1))
        if one is not None:  # a k-GPU pair: one worker of each per GPU, as measured on one
            return one[0] / table.isolated[(job_type, gpu_type, 1)]
        return fitted(gpu_type).factor(job_type, partner)

    def throughput(
        self,
        job_type: str,
        gpus: Sequence[int],
        partner: str | None = None,
        strategy: str | None = None,
    ) -> float:
        """Throughput of a job on ``gpus``, sharing them with ``partner`` if given,
        synchronising with ``strategy`` if given.

        Raises :class:`InputError` for a pair that may not share GPUs, or a strategy
        that does not apply.
        """
        iso = self.isolated(job_type, gpus, strategy)
        if partner is None:
            return iso
        f = self.interference(job_type, partner, self.cluster.gpu2type[gpus[0]], len(gpus))
        if f is None:
            raise InputError(
                f"job types {job_type!r} and {partner!r} cannot share GPUs (pair not measured)"
            )
        return iso * f

    def reference(self, job_type: str, k: int, gpu_types: Iterable[str]) -> float:
        """Best consolidated throughput over ``gpu_types``: the normaliser of a job."""
        best = 0.0
        for gt in gpu_types:
            if gt in self.cluster.type2servers and self.runs_on(job_type, gt):
                best = max(best, self.consolidated(job_type, gt, k))
        return best


def _compute(jt: JobType, c: float, fullest: int) -> float:
    """``c'``: the one-GPU compute time ``c`` slowed by the job's other GPUs on its
    fullest server."""
    return c * (1.0 + jt.contention * (fullest - 1))
