"""The cluster at one moment: which GPUs are free and which job holds which.

:class:`ClusterState` sits beside :class:`~optsched.model.topology.Cluster`,
which never changes. The placement rules live here, so that the placement
family's heuristics (on an empty cluster) and the simulator (on a partly
occupied one) share them. Each rule returns ``{server: GPU count}`` or ``None``
when the GPUs do not fit; :meth:`ClusterState.take` then hands them out.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from ..errors import InputError
from .topology import Cluster


class ClusterState:
    """Free GPUs per server (ascending ids) and the GPUs each job holds.

    Two jobs may share one GPU set (space sharing, as Gandiva and Gavel pack
    pairs): :meth:`share` gives a job the GPUs another holds, and
    :meth:`release` of either frees nothing while the other keeps them.
    """

    def __init__(self, cluster: Cluster, held: Mapping[str, Iterable[int]] | None = None) -> None:
        self.c = cluster
        self.free: list[list[int]] = [
            list(cluster.server_gpus(s)) for s in range(len(cluster.servers))
        ]
        self.held: dict[str, tuple[int, ...]] = {}
        #: job -> the job it shares its GPUs with (both ways)
        self.partner: dict[str, str] = {}
        #: free GPUs per type, kept up to date (``free_count`` in O(1))
        self.free_by_type: dict[str, int] = {t: cluster.capacity(t) for t in cluster.gpu_types}
        for job, gpus in (held or {}).items():
            self.take_gpus(job, gpus)

    def copy(self) -> ClusterState:
        """An independent copy (a policy plans on one without touching the cluster)."""
        other = ClusterState.__new__(ClusterState)
        other.c = self.c
        other.free = [list(f) for f in self.free]
        other.held = dict(self.held)
        other.partner = dict(self.partner)
        other.free_by_type = dict(self.free_by_type)
        return other

    # ---------------------------------------------------------------- queries
    def servers(self, gpu_type: str) -> list[int]:
        return list(self.c.type2servers.get(gpu_type, ()))

    def free_count(self, gpu_type: str | None = None) -> int:
        """Free GPUs of ``gpu_type`` (of every type when ``None``)."""
        if gpu_type is None:
            return sum(self.free_by_type.values())
        return self.free_by_type.get(gpu_type, 0)

    def is_free(self, gpus: Iterable[int]) -> bool:
        return all(g in self.free[self.c.gpu2server[g]] for g in gpus)

    # ---------------------------------------------------------------- changes
    def peek(self, picks: Mapping[int, int]) -> tuple[int, ...]:
        """The GPUs :meth:`take` would give for ``picks``, without taking them."""
        return tuple(sorted(g for s, k in picks.items() for g in self.free[s][:k]))

    def take(self, job: str, picks: Mapping[int, int]) -> tuple[int, ...]:
        """Give ``job`` the first ``picks[s]`` free GPUs of each server ``s``."""
        if job in self.held:
            raise ValueError(f"job {job!r} already holds GPUs {list(self.held[job])}")
        gpus: list[int] = []
        for s, k in picks.items():
            if k > len(self.free[s]):
                raise ValueError(f"server {s} has {len(self.free[s])} free GPUs, not {k}")
            gpus += self.free[s][:k]
            self.free[s] = self.free[s][k:]
            self.free_by_type[self.c.servers[s].gpu_type] -= k
        self.held[job] = tuple(sorted(gpus))
        return self.held[job]

    def take_gpus(self, job: str, gpus: Iterable[int]) -> tuple[int, ...]:
        """Give ``job`` exactly ``gpus`` (a lease kept, or a plan's GPUs)."""
        chosen = tuple(sorted(gpus))
        if job in self.held:
            raise InputError(f"job {job!r} already holds GPUs {list(self.held[job])}")
        for g in chosen:  # check them all before taking any
            if not 0 <= g < self.c.num_gpus:
                raise InputError(f"job {job!r}: no GPU {g} in the cluster")
            if g not in self.free[self.c.gpu2server[g]]:
                raise InputError(f"job {job!r}: GPU {g} is not free")
        for g in chosen:
            s = self.c.gpu2server[g]
            self.free[s].remove(g)
            self.free_by_type[self.c.servers[s].gpu_type] -= 1
        self.held[job] = chosen
        return chosen

    def share(self, job: str, host: str) -> tuple[int, ...]:
        """Give ``job`` the GPUs ``host`` holds, to share with it (one partner each)."""
        if job in self.held:
            raise ValueError(f"job {job!r} already holds GPUs {list(self.held[job])}")
        if host not in self.held or host in self.partner:
            raise ValueError(f"job {host!r} holds no GPUs to share, or shares them already")
        self.held[job] = self.held[host]
        self.partner[job], self.partner[host] = host, job
        return self.held[job]

    def release(self, job: str) -> tuple[int, ...]:
        """Free the GPUs ``job`` holds (kept by its partner if it shares them); returns them."""
        other = self.partner.pop(job, None)
        if other is not None:
            del self.partner[other]
            return self.held.pop(job)
        gpus = self.held.pop(job, ())
        for g in gpus:
            s = self.c.gpu2server[g]
            self.free[s].append(g)
            self.free[s].sort()
            self.free_by_type[self.c.servers[s].gpu_type] += 1
        return gpus

    # ---------------------------------------------------------------- rules
    # Each: ``need`` GPUs of ``gpu_type`` -> {server: count}, or None if they do not fit.
    def exact_or_smallest(self, need: int, gpu_type: str) -> dict[int, int] | None:
        """One server: exact fit first, else the fullest server that fits (Blox consolidated)."""
        fits = [s for s in self.servers(gpu_type) if len(self.free[s]) >= need]
        if not fits:
            return None
        s = min(fits, key=lambda s: (len(self.free[s]) - need, s))
        return {s: need}

    def first_server(self, need: int, gpu_type: str) -> dict[int, int] | None:
        """The first server (by index) with ``need`` free GPUs."""
        fits = [s for s in self.servers(gpu_type) if len(self.free[s]) >= need]
        return {fits[0]: need} if fits else None

    def spread_in_order(
        self, need: int, gpu_type: str, order: Iterable[int] | None = None
    ) -> dict[int, int] | None:
        """Free GPUs server by server in ``order`` (default: index order; Blox scattered)."""
        if self.free_count(gpu_type) < need:
            return None
        picks = {}
        for s in order if order is not None else self.servers(gpu_type):
            k = min(need, len(self.free[s]))
            if k:
                picks[s] = k
                need -= k
            if not need:
                return picks
        return None

    def fewest_servers(self, need: int, gpu_type: str) -> dict[int, int] | None:
        """Servers with the most free GPUs first, so the job spans as few as possible."""
        order = sorted(self.servers(gpu_type), key=lambda s: (-len(self.free[s]), s))
        return self.spread_in_order(need, gpu_type, order)

    def consolidated(self, need: int, gpu_type: str) -> dict[int, int] | None:
        """Consolidated first: one server if any fits (best fit), else the fewest servers."""
        return self.exact_or_smallest(need, gpu_type) or self.fewest_servers(need, gpu_type)


#: Placement rules by name, for policies and the command line.
RULES = {
    "consolidated": ClusterState.consolidated,
    "best_fit": ClusterState.exact_or_smallest,
    "first_fit": lambda st, need, t: st.first_server(need, t) or st.spread_in_order(need, t),
    "scattered": ClusterState.spread_in_order,
}
