"""Builders for common cluster shapes.

Every builder documents the spec-sheet numbers it assumes; all of them can be
overridden by keyword.
"""

from __future__ import annotations

import csv
from importlib import resources

from ..errors import InputError, check_positive_int, check_real
from .gpus import LINK_DEFAULTS, NIC_GBPS, LinkKind
from .testbeds import GAVEL, POLLUX, Testbed
from .topology import Cluster, Rack, Server

#: Intra-server link a builder uses by default for each GPU type.
DEFAULT_LINK: dict[str, LinkKind] = {
    "k80": LinkKind.PCIE,
    "p40": LinkKind.PCIE,
    "p100": LinkKind.PCIE,
    "t4": LinkKind.PCIE,
    "a10": LinkKind.PCIE,
    "v100": LinkKind.NVLINK,
    "a100": LinkKind.NVSWITCH,
    "h100": LinkKind.NVSWITCH,
}


def _link(gpu_type: str) -> tuple[LinkKind, float]:
    kind = DEFAULT_LINK.get(gpu_type, LinkKind.PCIE)
    return kind, LINK_DEFAULTS[kind][0]


def homogeneous(
    num_racks: int,
    servers_per_rack: int,
    gpus_per_server: int,
    gpu_type: str = "v100",
    *,
    link: LinkKind | None = None,
    link_bandwidth: float | None = None,
    nic_bandwidth: float = NIC_GBPS["100Gb"],
    oversubscription: float = 1.0,
    name: str | None = None,
) -> Cluster:
    """``num_racks`` racks of identical servers.

    The uplink of each rack is ``servers_per_rack * nic_bandwidth / oversubscription``
    (1.0: non-blocking).
    """
    check_positive_int(num_racks, "num_racks", "homogeneous")
    check_positive_int(servers_per_rack, "servers_per_rack", "homogeneous")
    check_positive_int(gpus_per_server, "gpus_per_server", "homogeneous")
    check_real(oversubscription, "oversubscription", "homogeneous", strict=True)
    kind, bw = _link(gpu_type)
    kind = link or kind
    bw = link_bandwidth if link_bandwidth is not None else LINK_DEFAULTS[kind][0]
    uplink = servers_per_rack * nic_bandwidth / oversubscription
    racks = tuple(Rack(f"r{r}", uplink) for r in range(num_racks))
    servers = tuple(
        Server(f"r{r}s{s}", f"r{r}", gpu_type, gpus_per_server, kind, bw, nic_bandwidth)
        for r in range(num_racks)
        for s in range(servers_per_rack)
    )
    n = num_racks * servers_per_rack * gpus_per_server
    return Cluster(name or f"{n}x{gpu_type}", racks, servers)


def nvswitch_pod(
    num_racks: int = 2,
    servers_per_rack: int = 4,
    gpu_type: str = "a100",
    *,
    nic_bandwidth: float = 8 * NIC_GBPS["200Gb"],
    oversubscription: float = 4.0,
    name: str | None = None,
) -> Cluster:
    """8-GPU NVSwitch servers (DGX/HGX style) with oversubscribed rack uplinks.

    Defaults: 8 x 200 Gb/s HDR InfiniBand NICs per server (200 GB/s), uplinks
    oversubscribed 4:1.
    """
    return homogeneous(
        num_racks,
        servers_per_rack,
        8,
        gpu_type,
        link=LinkKind.NVSWITCH,
        nic_bandwidth=nic_bandwidth,
        oversubscription=oversubscription,
        name=name or f"nvswitch-{num_racks}x{servers_per_rack}x8",
    )


def gavel(
    counts: dict[str, int] | None = None,
    gpus_per_server: int = 4,
    *,
    servers_per_rack: int = 8,
    nic_bandwidth: float = GAVEL.network,
    name: str | None = None,
) -> Cluster:
    """Gavel-style heterogeneous cluster, e.g. 36:36:36 V100:P100:K80.

    Servers hold ``gpus_per_server`` GPUs of one type (a remainder makes a
    smaller last server); each type fills its own racks. The network is Gavel's
    testbed preset (:data:`optsched.model.testbeds.GAVEL`): the effective
    bandwidth fitted on Gavel's unconsolidated throughputs, 1.043 GB/s on its
    10 GbE (1.25 GB/s on the spec sheet).
    """
    counts = {"v100": 36, "p100": 36, "k80": 36} if counts is None else counts
    check_positive_int(gpus_per_server, "gpus_per_server", "gavel")
    racks: list[Rack] = []
    servers: list[Server] = []
    for gpu_type, count in counts.items():
        check_positive_int(count, f"count of {gpu_type}", "gavel")
        kind, bw = _link(gpu_type)
        sizes = [gpus_per_server] * (count // gpus_per_server)
        if count % gpus_per_server:
            sizes.append(count % gpus_per_server)
        for i, size in enumerate(sizes):
            if i % servers_per_rack == 0:
                racks.append(
                    Rack(f"{gpu_type}-r{i // servers_per_rack}", servers_per_rack * nic_bandwidth)
                )
            servers.append(
                Server(f"{gpu_type}-s{i}", racks[-1].id, gpu_type, size, kind, bw, nic_bandwidth)
            )
    label = ":".join(str(c) for c in counts.values())
    return Cluster(name or f"gavel-{label}", tuple(racks), tuple(servers))


def philly(
    *,
    servers_per_rack: int = 16,
    gpu_type_by_memory: dict[str, str] | None = None,
    nic_bandwidth: float = NIC_GBPS["100Gb"],
    limit: int | None = None,
    name: str = "philly",
) -> Cluster:
    """Microsoft Philly from its real machine list: 321 x 2-GPU and 231 x 8-GPU servers.

    The list gives GPU memory only. Defaults map 12 GB to ``p100`` (the P100
    PCIe 12 GB part) and 24 GB to ``p40``; this is an assumption, overridable
    through ``gpu_type_by_memory``. Rack layout is not published; servers are
    grouped ``servers_per_rack`` at a time in machine-list order, 2-GPU and
    8-GPU servers in separate racks. ``limit`` keeps the first servers only.
    """
    mapping = {"12GB": "p100", "24GB": "p40"} if gpu_type_by_memory is None else gpu_type_by_memory
    path = resources.files("optsched.model") / "data" / "philly_cluster_machine_list.csv"
    rows = []
    with path.open() as fh:
        for row in csv.DictReader(fh, skipinitialspace=True):
            mem = row["single GPU mem"].strip()
            rows.append((row["machineId"], int(row["number of GPUs"]), mem))
    if limit is not None:
        rows = rows[:limit]
    racks: list[Rack] = []
    servers: list[Server] = []
    for size in sorted({r[1] for r in rows}):
        group = [r for r in rows if r[1] == size]
        for i, (mid, num, mem) in enumerate(group):
            if mem not in mapping:
                raise InputError(f"philly: no GPU type for memory {mem!r}")
            if i % servers_per_rack == 0:
                racks.append(
                    Rack(f"{size}gpu-r{i // servers_per_rack}", servers_per_rack * nic_bandwidth)
                )
            gtype = mapping[mem]
            kind, bw = _link(gtype)
            servers.append(Server(mid, racks[-1].id, gtype, num, kind, bw, nic_bandwidth))
    return Cluster(name, tuple(racks), tuple(servers))


def from_nodes(
    name: str,
    nodes: list[tuple[str, int, str]],
    *,
    servers_per_rack: int = 16,
    nic_bandwidth: float = NIC_GBPS["25GbE"],
) -> Cluster:
    """A cluster from a trace's node list ``(id, GPUs, GPU type)``: servers of one type
    and size share racks, ``servers_per_rack`` at a time, in list order (traces do not
    publish their rack layout)."""
    racks: list[Rack] = []
    servers: list[Server] = []
    groups: dict[tuple[str, int], list[str]] = {}
    for sid, num, gtype in nodes:
        groups.setdefault((gtype, num), []).append(sid)
    for (gtype, num), ids in sorted(groups.items()):
        kind, bw = _link(gtype)
        for i, sid in enumerate(ids):
            if i % servers_per_rack == 0:
                racks.append(
                    Rack(
                        f"{gtype}x{num}-r{i // servers_per_rack}", servers_per_rack * nic_bandwidth
                    )
                )
            servers.append(Server(sid, racks[-1].id, gtype, num, kind, bw, nic_bandwidth))
    return Cluster(name, tuple(racks), tuple(servers))


def pollux(num_nodes: int = 16, *, testbed: Testbed = POLLUX, name: str | None = None) -> Cluster:
    """Pollux's testbed: nodes of 4 T4 GPUs on PCIe 3.0, one switch, with the network
    preset fitted on Pollux's measured placements
    (:data:`optsched.model.testbeds.POLLUX`: 0.766 GB/s effective on 50 Gb/s
    Ethernet, 3.4 ms per all-reduce, two-node rings 1.52x slower). ``testbed``
    swaps in other fitted parameters (a held-out fold's, say)."""
    check_positive_int(num_nodes, "num_nodes", "pollux")
    kind, bw = _link("t4")
    net = testbed.network
    rack = Rack("r0", num_nodes * net)
    servers = tuple(
        Server(f"n{i}", rack.id, "t4", testbed.gpus_per_server, kind, bw, net)
        for i in range(num_nodes)
    )
    return Cluster(
        name or f"pollux-{num_nodes}x{testbed.gpus_per_server}",
        (rack,),
        servers,
        allreduce_latency=testbed.allreduce_latency,
        two_server_factor=testbed.two_server_factor,
    )


def single_server(num_gpus: int, gpu_type: str = "v100", name: str | None = None) -> Cluster:
    """One server (handy for tests and for Saturn-style nodes)."""
    return homogeneous(1, 1, num_gpus, gpu_type, name=name or f"{num_gpus}x{gpu_type}-server")


BUILDERS = {
    "homogeneous": homogeneous,
    "nvswitch": nvswitch_pod,
    "gavel": gavel,
    "philly": philly,
    "pollux": pollux,
}
