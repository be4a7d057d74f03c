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

from ..errors import InputError
from ..model.topology import Cluster
from .comm import ring_allreduce_time
from .interference import fitted
from .jobtypes import Catalog, JobType, default_catalog

#: What the model does with co-located pairs Gavel did not measure (or a factor).
INTERFERENCE_MODES = ("fitted", "forbid")
#: Rule 2's choices.
SPREAD_RULES = ("measured", "no_gain")


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
    """

    def __init__(
        self,
        cluster: Cluster,
        catalog: Catalog | None = None,
        *,
        locality: bool = True,
        unmeasured_interference: float | str = "fitted",
        spread: str = "measured",
    ) -> None:
        self.cluster = cluster
        self.catalog = catalog or default_catalog()
        self.locality = locality
        self.unmeasured_interference = check_interference(unmeasured_interference)
        if spread not in SPREAD_RULES:
            raise InputError(f"spread must be one of {', '.join(SPREAD_RULES)}, got {spread!r}")
        self.spread = spread
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
        """Isolated throughput of ``k`` GPUs packed on one server of ``gpu_type``.

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
            got = self._packed[key] = self._iso(job_type, gpu_type, k, 0, bw, bw, bw)
        return got

    def fastest(self, job_type: str, gpu_type: str, k: int) -> float:
        """No placement of ``k`` GPUs of ``gpu_type`` gives the job more: its consolidated
        throughput, or (rule 2) a measured spread one above it."""
        best = self.consolidated(job_type, gpu_type, k)
        if self.locality and self.spread == "measured":
            best = max(best, self.catalog.table.unconsolidated.get((job_type, gpu_type, k), 0.0))
        return best

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

    def isolated(self, job_type: str, gpus: Sequence[int]) -> float:
        """Throughput of the job alone on GPU set ``gpus`` (one GPU type)."""
        c = self.cluster
        gpu_type = c.gpu2type[gpus[0]]
        k = len(gpus)
        if not self.locality:
            return self.consolidated(job_type, gpu_type, k)
        per_server: dict[int, int] = {}
        for g in gpus:
            s = c.gpu2server[g]
            per_server[s] = per_server.get(s, 0) + 1
        b_server = min(c.servers[s].link_bandwidth for s in per_server) if k > 1 else math.inf
        return self._iso(
            job_type,
            gpu_type,
            k,
            c.spread(gpus),
            c.bottleneck_bandwidth(gpus),
            c.rack_bandwidth(gpus),
            b_server,
            len(per_server),
            max(per_server.values()),
        )

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
    ) -> float:
        jt = self.catalog[job_type]
        table = self.catalog.table
        fullest = k if fullest is None else fullest
        c = jt.compute_on(gpu_type)
        m0 = table.isolated.get((job_type, gpu_type, k)) or self._interpolated(jt, gpu_type, k)
        if m0 is not None:
            if level == 0:
                return m0
            c = c or 0.0
            here = self._exposed(jt, c, k, bw, servers, fullest)
            m1 = table.unconsolidated.get((job_type, gpu_type, k))
            if m1 is not None:
                t = k / (min(m0, m1) if self.spread == "no_gain" else m1)
                if level == 2:
                    t += here - self._exposed(jt, c, k, bw_rack, servers, fullest)
                return k / t
            return k / (k / m0 + here - self._exposed(jt, c, k, bw_server, 1, k))
        if c is None:
            raise InputError(f"job type {job_type!r}: no throughput known on GPU type {gpu_type!r}")
        compute = c * (1.0 + jt.contention * (fullest - 1))
        return k / (compute + self._exposed(jt, c, k, bw, servers, fullest))

    def _exposed(
        self, jt: JobType, c: float, k: int, bw: float, servers: int, fullest: int
    ) -> float:
        """``X(S)``: the all-reduce time the compute does not hide."""
        if k < 2 or math.isinf(bw):
            return 0.0
        cl = self.cluster
        comm = ring_allreduce_time(jt.model_bytes, k, bw)
        if servers == 2:
            comm *= cl.two_server_factor
        compute = c * (1.0 + jt.contention * (fullest - 1))
        return max(0.0, comm + cl.allreduce_latency - jt.overlap * compute)

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

    def throughput(self, job_type: str, gpus: Sequence[int], partner: str | None = None) -> float:
        """Throughput of a job on ``gpus``, sharing them with ``partner`` if given.

        Raises :class:`InputError` for a pair that may not share GPUs.
        """
        iso = self.isolated(job_type, gpus)
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
