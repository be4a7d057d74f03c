"""Clusters: GPUs in servers in racks, and the interconnect tree between them.

A cluster is stored as frozen data (racks and servers) and exposed as a networkx
graph (:meth:`Cluster.graph`) with GPU, server, top-of-rack and spine vertices
whose edges carry a :class:`~optsched.model.gpus.LinkKind` and a bandwidth in
GB/s. The interconnect is a tree::

    gpu --(nvswitch|nvlink|pcie)-- server --(nic)-- tor --(uplink)-- spine

Formulations never walk the graph: they read the cached facts below (server and
rack of each GPU, GPUs by type, bottleneck bandwidth of a GPU set).

Bottleneck bandwidth
--------------------
A ring all-reduce over GPU set ``S`` whose ring visits GPUs in depth-first
order of the tree crosses every edge of the subtree spanning ``S`` exactly once
in each direction, so its per-direction bandwidth is the minimum edge bandwidth
over that subtree:

.. math:: B(S) = \\min\\{ b_e : e \\in \\mathrm{Steiner}(S) \\}

i.e. the GPU links of the servers used, plus their NICs when ``S`` spans
several servers, plus the racks' uplinks when it spans several racks. Traffic of
other jobs is not part of ``B``; co-location interference is a separate factor.

Two fitted network facts complete the picture (defaults leave the ring formula
alone): ``allreduce_latency``, seconds every all-reduce among two or more GPUs
pays, and ``two_server_factor``, the multiplier on a ring over exactly two
servers. Both come from a testbed's measurements
(:mod:`optsched.throughput.testbeds`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any

import networkx as nx

from ..errors import (
    InputError,
    check_keys,
    check_list,
    check_positive_int,
    check_real,
    check_str,
    check_unique,
    get_field,
    where,
)
from .gpus import GPU_TYPES, LINK_DEFAULTS, LinkKind

INTRA_KINDS = (LinkKind.NVSWITCH, LinkKind.NVLINK, LinkKind.PCIE)


@dataclass(frozen=True)
class Rack:
    """A top-of-rack switch.

    Attributes
    ----------
    id
        Unique rack id.
    uplink_bandwidth
        ToR-to-spine bandwidth, GB/s per direction. Oversubscription is the
        ratio of the rack's summed NIC bandwidth to this number.
    """

    id: str
    uplink_bandwidth: float = LINK_DEFAULTS[LinkKind.UPLINK][0]

    def __post_init__(self) -> None:
        check_str(self.id, "id", "rack")
        check_real(self.uplink_bandwidth, "uplink_bandwidth", where("rack", self.id), strict=True)


@dataclass(frozen=True)
class Server:
    """A server with ``num_gpus`` GPUs of one type.

    Attributes
    ----------
    id
        Unique server id.
    rack
        Id of the rack the server sits in.
    gpu_type
        GPU type key (see :data:`~optsched.model.gpus.GPU_TYPES`).
    num_gpus
        Number of GPUs, >= 1.
    link
        Kind of the GPU-to-fabric links inside the server.
    link_bandwidth
        GB/s per direction of each GPU's link into the server fabric.
    nic_bandwidth
        GB/s per direction of the server's network interface to its ToR switch.
    """

    id: str
    rack: str
    gpu_type: str
    num_gpus: int
    link: LinkKind = LinkKind.PCIE
    link_bandwidth: float = LINK_DEFAULTS[LinkKind.PCIE][0]
    nic_bandwidth: float = LINK_DEFAULTS[LinkKind.NIC][0]

    def __post_init__(self) -> None:
        ctx = where("server", self.id)
        check_str(self.id, "id", "server")
        check_str(self.rack, "rack", ctx)
        check_str(self.gpu_type, "gpu_type", ctx)
        check_positive_int(self.num_gpus, "num_gpus", ctx)
        try:
            kind = LinkKind(self.link)
        except ValueError:
            names = ", ".join(k.value for k in INTRA_KINDS)
            raise InputError(f"{ctx}: link must be one of {names}, got {self.link!r}") from None
        if kind not in INTRA_KINDS:
            raise InputError(f"{ctx}: link must be an intra-server kind, got {kind.value!r}")
        object.__setattr__(self, "link", kind)
        check_real(self.link_bandwidth, "link_bandwidth", ctx, strict=True)
        check_real(self.nic_bandwidth, "nic_bandwidth", ctx, strict=True)


#: The most GPUs a cluster may have: every model numbers each GPU (the full Philly
#: cluster has 2,490).
MAX_GPUS = 100_000


@dataclass(frozen=True)
class Cluster:
    """GPU cluster: racks and servers; GPUs are numbered server by server.

    GPU ``g`` of the cluster is GPU ``g - first_gpu[s]`` of server ``s``; ids in
    solutions are these global indices. ``allreduce_latency`` (s, >= 0) and
    ``two_server_factor`` (> 0) are the fitted network facts the
    module docstring describes.
    """

    name: str
    racks: tuple[Rack, ...]
    servers: tuple[Server, ...]
    extra_gpu_types: tuple[str, ...] = field(default=())
    allreduce_latency: float = 0.0
    two_server_factor: float = 1.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "racks", tuple(self.racks))
        object.__setattr__(self, "servers", tuple(self.servers))
        object.__setattr__(self, "extra_gpu_types", tuple(self.extra_gpu_types))
        if not self.servers:
            raise InputError(f"cluster {self.name!r}: needs at least one server")
        ctx = where("cluster", self.name)
        check_real(self.allreduce_latency, "allreduce_latency", ctx)
        check_real(self.two_server_factor, "two_server_factor", ctx, strict=True)
        check_unique((r.id for r in self.racks), "rack")
        check_unique((s.id for s in self.servers), "server")
        rack_ids = {r.id for r in self.racks}
        known = set(GPU_TYPES) | set(self.extra_gpu_types)
        for s in self.servers:
            if s.rack not in rack_ids:
                raise InputError(f"server {s.id!r}: rack {s.rack!r} does not exist")
            if s.gpu_type not in known:
                raise InputError(f"server {s.id!r}: unknown gpu_type {s.gpu_type!r}")
        total = sum(s.num_gpus for s in self.servers)
        if total > MAX_GPUS:
            big = max(self.servers, key=lambda s: s.num_gpus)
            raise InputError(
                f"cluster {self.name!r}: {total:,} GPUs, more than optsched models "
                f"({MAX_GPUS:,}; the largest server, {big.id!r}, has {big.num_gpus:,})"
            )

    # ------------------------------------------------------------------ facts
    @cached_property
    def num_gpus(self) -> int:
        return sum(s.num_gpus for s in self.servers)

    @cached_property
    def first_gpu(self) -> tuple[int, ...]:
        """Global index of each server's first GPU."""
        out, acc = [], 0
        for s in self.servers:
            out.append(acc)
            acc += s.num_gpus
        return tuple(out)

    @cached_property
    def gpu2server(self) -> tuple[int, ...]:
        return tuple(i for i, s in enumerate(self.servers) for _ in range(s.num_gpus))

    @cached_property
    def server2rack(self) -> tuple[int, ...]:
        idx = {r.id: i for i, r in enumerate(self.racks)}
        return tuple(idx[s.rack] for s in self.servers)

    @cached_property
    def gpu2rack(self) -> tuple[int, ...]:
        return tuple(self.server2rack[s] for s in self.gpu2server)

    @cached_property
    def gpu2type(self) -> tuple[str, ...]:
        return tuple(self.servers[s].gpu_type for s in self.gpu2server)

    @cached_property
    def gpu_types(self) -> tuple[str, ...]:
        """GPU types present, in order of first appearance."""
        return tuple(dict.fromkeys(s.gpu_type for s in self.servers))

    @cached_property
    def type2gpus(self) -> Mapping[str, tuple[int, ...]]:
        out: dict[str, list[int]] = {t: [] for t in self.gpu_types}
        for g, t in enumerate(self.gpu2type):
            out[t].append(g)
        return {t: tuple(v) for t, v in out.items()}

    @cached_property
    def type2servers(self) -> Mapping[str, tuple[int, ...]]:
        out: dict[str, list[int]] = {t: [] for t in self.gpu_types}
        for i, s in enumerate(self.servers):
            out[s.gpu_type].append(i)
        return {t: tuple(v) for t, v in out.items()}

    def server_gpus(self, server: int) -> range:
        """Global GPU indices of server ``server`` (an index)."""
        start = self.first_gpu[server]
        return range(start, start + self.servers[server].num_gpus)

    def capacity(self, gpu_type: str) -> int:
        return len(self.type2gpus.get(gpu_type, ()))

    def max_server_gpus(self, gpu_type: str) -> int:
        sizes = (self.servers[i].num_gpus for i in self.type2servers.get(gpu_type, ()))
        return max(sizes, default=0)

    def spread(self, gpus: Iterable[int]) -> int:
        """0 if ``gpus`` share a server, 1 if they share a rack, 2 otherwise."""
        gpus = list(gpus)
        if len({self.gpu2server[g] for g in gpus}) <= 1:
            return 0
        if len({self.gpu2rack[g] for g in gpus}) <= 1:
            return 1
        return 2

    def bottleneck_bandwidth(self, gpus: Iterable[int]) -> float:
        """Minimum edge bandwidth (GB/s) of the subtree spanning ``gpus``.

        ``inf`` for fewer than two GPUs (no communication).
        """
        gpus = list(gpus)
        if len(gpus) < 2:
            return math.inf
        servers = {self.gpu2server[g] for g in gpus}
        bw = min(self.servers[s].link_bandwidth for s in servers)
        if len(servers) > 1:
            bw = min(bw, min(self.servers[s].nic_bandwidth for s in servers))
            racks = {self.server2rack[s] for s in servers}
            if len(racks) > 1:
                bw = min(bw, min(self.racks[r].uplink_bandwidth for r in racks))
        return bw

    def rack_bandwidth(self, gpus: Iterable[int]) -> float:
        """Bottleneck bandwidth of ``gpus`` if their servers all sat in one rack."""
        gpus = list(gpus)
        if len(gpus) < 2:
            return math.inf
        servers = {self.gpu2server[g] for g in gpus}
        bw = min(self.servers[s].link_bandwidth for s in servers)
        if len(servers) > 1:
            bw = min(bw, min(self.servers[s].nic_bandwidth for s in servers))
        return bw

    def server_bandwidth(self, gpu_type: str) -> float:
        """Best intra-server GPU link bandwidth among servers of ``gpu_type``."""
        return max(self.servers[i].link_bandwidth for i in self.type2servers[gpu_type])

    # ------------------------------------------------------------------ graph
    def graph(self) -> nx.Graph:
        """The interconnect as a networkx graph (a fresh copy on every call).

        Vertices: ``"gpu:<g>"`` (attrs ``kind="gpu"``, ``gpu_type``, ``index``),
        ``"server:<id>"``, ``"tor:<id>"`` and, with several racks, ``"spine"``.
        Edges: ``kind`` (a :class:`LinkKind` value) and ``bandwidth`` (GB/s).
        """
        g = nx.Graph(name=self.name)
        multi_rack = len(self.racks) > 1
        if multi_rack:
            g.add_node("spine", kind="spine")
        for r in self.racks:
            g.add_node(f"tor:{r.id}", kind="tor")
            if multi_rack:
                g.add_edge(
                    f"tor:{r.id}", "spine", kind=LinkKind.UPLINK.value, bandwidth=r.uplink_bandwidth
                )
        for i, s in enumerate(self.servers):
            sv = f"server:{s.id}"
            g.add_node(sv, kind="server", gpu_type=s.gpu_type)
            g.add_edge(sv, f"tor:{s.rack}", kind=LinkKind.NIC.value, bandwidth=s.nic_bandwidth)
            for gpu in self.server_gpus(i):
                g.add_node(f"gpu:{gpu}", kind="gpu", gpu_type=s.gpu_type, index=gpu)
                g.add_edge(f"gpu:{gpu}", sv, kind=s.link.value, bandwidth=s.link_bandwidth)
        return g

    @classmethod
    def from_graph(cls, graph: nx.Graph, name: str | None = None) -> Cluster:
        """Rebuild a cluster from a graph shaped as :meth:`graph` describes.

        GPUs of a server must share a type and a link kind and bandwidth.
        """
        racks: list[Rack] = []
        servers: list[Server] = []
        for node, attrs in graph.nodes(data=True):
            if attrs.get("kind") != "tor":
                continue
            up = [e for e in graph.edges(node, data=True) if e[2].get("kind") == "uplink"]
            bw = up[0][2]["bandwidth"] if up else LINK_DEFAULTS[LinkKind.UPLINK][0]
            racks.append(Rack(str(node).removeprefix("tor:"), bw))
        for node, attrs in graph.nodes(data=True):
            if attrs.get("kind") != "server":
                continue
            sid = str(node).removeprefix("server:")
            tors = [(v, d) for _, v, d in graph.edges(node, data=True) if d.get("kind") == "nic"]
            if len(tors) != 1:
                raise InputError(f"server {sid!r}: needs exactly one nic edge, got {len(tors)}")
            gpus = [
                (v, d)
                for _, v, d in graph.edges(node, data=True)
                if graph.nodes[v].get("kind") == "gpu"
            ]
            if not gpus:
                raise InputError(f"server {sid!r}: has no GPUs")
            kinds = {(graph.nodes[v]["gpu_type"], d["kind"], d["bandwidth"]) for v, d in gpus}
            if len(kinds) != 1:
                raise InputError(f"server {sid!r}: GPUs differ in type or link: {sorted(kinds)}")
            ((gtype, kind, bw),) = kinds
            servers.append(
                Server(
                    sid,
                    str(tors[0][0]).removeprefix("tor:"),
                    gtype,
                    len(gpus),
                    LinkKind(kind),
                    bw,
                    tors[0][1]["bandwidth"],
                )
            )
        return cls(name or graph.graph.get("name", "cluster"), tuple(racks), tuple(servers))

    # ------------------------------------------------------------------ I/O
    def replace(self, **changes: Any) -> Cluster:
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name}
        if self.extra_gpu_types:
            out["extra_gpu_types"] = list(self.extra_gpu_types)
        out["racks"] = [{"id": r.id, "uplink_bandwidth": r.uplink_bandwidth} for r in self.racks]
        out["servers"] = [
            {
                "id": s.id,
                "rack": s.rack,
                "gpu_type": s.gpu_type,
                "num_gpus": s.num_gpus,
                "link": s.link.value,
                "link_bandwidth": s.link_bandwidth,
                "nic_bandwidth": s.nic_bandwidth,
            }
            for s in self.servers
        ]
        if self.allreduce_latency:
            out["allreduce_latency"] = self.allreduce_latency
        if self.two_server_factor != 1.0:
            out["two_server_factor"] = self.two_server_factor
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Cluster:
        ctx = "cluster"
        check_keys(
            data,
            (
                "name",
                "racks",
                "servers",
                "extra_gpu_types",
                "allreduce_latency",
                "two_server_factor",
            ),
            ctx,
        )
        racks = []
        for r in check_list(get_field(data, "racks", ctx), "racks", ctx):
            check_keys(r, ("id", "uplink_bandwidth"), "rack")
            racks.append(
                Rack(
                    get_field(r, "id", "rack"),
                    r.get("uplink_bandwidth", LINK_DEFAULTS[LinkKind.UPLINK][0]),
                )
            )
        servers = []
        fields = ("id", "rack", "gpu_type", "num_gpus", "link", "link_bandwidth", "nic_bandwidth")
        for s in check_list(get_field(data, "servers", ctx), "servers", ctx):
            check_keys(s, fields, "server")
            sid = get_field(s, "id", "server")
            link: Any = check_str(s.get("link", LinkKind.PCIE.value), "link", where("server", sid))
            intra = {k.value for k in INTRA_KINDS}
            default_bw = LINK_DEFAULTS[LinkKind(link)][0] if link in intra else 1.0
            servers.append(
                Server(
                    sid,
                    get_field(s, "rack", where("server", sid)),
                    get_field(s, "gpu_type", where("server", sid)),
                    get_field(s, "num_gpus", where("server", sid)),
                    link,
                    s.get("link_bandwidth", default_bw),
                    s.get("nic_bandwidth", LINK_DEFAULTS[LinkKind.NIC][0]),
                )
            )
        extra = tuple(check_list(data.get("extra_gpu_types", []), "extra_gpu_types", ctx))
        return cls(
            check_str(data.get("name", "cluster"), "name", ctx),
            tuple(racks),
            tuple(servers),
            extra,
            data.get("allreduce_latency", 0.0),
            data.get("two_server_factor", 1.0),
        )

    def summary(self) -> dict[str, Any]:
        """Readable shape: GPUs by type, server sizes, racks."""
        by_type = {t: len(v) for t, v in self.type2gpus.items()}
        shapes: dict[str, int] = {}
        for s in self.servers:
            key = f"{s.num_gpus}x{s.gpu_type} ({s.link.value})"
            shapes[key] = shapes.get(key, 0) + 1
        return {
            "name": self.name,
            "num_gpus": self.num_gpus,
            "num_servers": len(self.servers),
            "num_racks": len(self.racks),
            "gpus_by_type": by_type,
            "servers_by_shape": shapes,
        }
