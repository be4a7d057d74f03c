import itertools
import math
import random

import networkx as nx
import pytest

from optsched.errors import InputError
from optsched.model import Cluster, LinkKind, Rack, Server, gavel, homogeneous, nvswitch_pod, philly
from optsched.model.gpus import LINK_DEFAULTS


def test_philly_uses_the_real_machine_list():
    c = philly()
    sizes = [s.num_gpus for s in c.servers]
    assert sizes.count(2) == 321 and sizes.count(8) == 231
    assert c.num_gpus == 2490
    assert c.capacity("p100") == 642 and c.capacity("p40") == 1848


def test_gavel_36_36_36():
    c = gavel()
    assert c.num_gpus == 108
    assert {t: c.capacity(t) for t in c.gpu_types} == {"v100": 36, "p100": 36, "k80": 36}
    # 36 GPUs in 4-GPU servers = 9 servers per type, each type in its own rack(s)
    assert len(c.type2servers["v100"]) == 9
    assert all(c.servers[s].link is LinkKind.NVLINK for s in c.type2servers["v100"])


def test_gavel_remainder_makes_a_smaller_server():
    c = gavel({"k80": 10}, gpus_per_server=4)
    assert [s.num_gpus for s in c.servers] == [4, 4, 2]


def test_derived_facts(small_gavel):
    c = small_gavel
    assert c.first_gpu == (0, 4, 8)
    assert c.gpu2server[5] == 1 and c.gpu2type[9] == "k80"
    assert c.server_gpus(2) == range(8, 12)
    assert c.spread([0, 1]) == 0 and c.spread([0, 4]) == 1 and c.spread([0, 8]) == 2
    assert c.max_server_gpus("v100") == 4


def test_bottleneck_tiers(two_racks):
    c = two_racks
    nvlink = LINK_DEFAULTS[LinkKind.NVLINK][0]
    assert math.isinf(c.bottleneck_bandwidth([3]))
    assert c.bottleneck_bandwidth([0, 1, 2, 3]) == nvlink
    assert c.bottleneck_bandwidth([0, 4]) == 12.5  # NIC, same rack
    # uplink = 2 servers x 12.5 GB/s / 4 = 6.25 GB/s, below the NIC
    assert c.bottleneck_bandwidth([0, 8]) == 6.25
    assert c.rack_bandwidth([0, 8]) == 12.5


def _steiner_min(graph: nx.Graph, gpus: list[int]) -> float:
    """Minimum edge bandwidth on the union of tree paths between the GPUs."""
    nodes = [f"gpu:{g}" for g in gpus]
    edges = set()
    for a, b in itertools.combinations(nodes, 2):
        path = nx.shortest_path(graph, a, b)
        edges.update(frozenset(e) for e in zip(path, path[1:]))
    return min(graph.edges[tuple(e)]["bandwidth"] for e in edges)


@pytest.mark.parametrize(
    "builder",
    [
        lambda: homogeneous(3, 2, 4, "v100", oversubscription=8.0),
        lambda: gavel({"v100": 8, "p100": 6, "k80": 4}, gpus_per_server=2, servers_per_rack=2),
        lambda: nvswitch_pod(2, 2),
    ],
)
def test_cached_bottleneck_matches_graph_walk(builder):
    c = builder()
    g = c.graph()
    rng = random.Random(0)
    for _ in range(60):
        k = rng.randint(2, min(6, c.num_gpus))
        gpus = rng.sample(range(c.num_gpus), k)
        assert c.bottleneck_bandwidth(gpus) == pytest.approx(_steiner_min(g, gpus))


def test_graph_round_trip():
    c = gavel({"v100": 8, "p100": 4}, gpus_per_server=4)
    g = c.graph()
    assert all(d["kind"] in {k.value for k in LinkKind} for _, _, d in g.edges(data=True))
    assert sum(1 for _, d in g.nodes(data=True) if d["kind"] == "gpu") == 12
    back = Cluster.from_graph(g)
    assert back.to_dict() == c.to_dict()


def test_json_round_trip():
    c = philly(limit=40)
    assert Cluster.from_dict(c.to_dict()) == c


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda d: d["servers"][0].update(num_gpus=0), "server 's0': num_gpus must be >= 1, got 0"),
        (lambda d: d["servers"][0].update(gpu_type="tpu"), "server 's0': unknown gpu_type 'tpu'"),
        (
            lambda d: d["servers"][0].update(rack="nowhere"),
            "server 's0': rack 'nowhere' does not exist",
        ),
        (lambda d: d["servers"].append(dict(d["servers"][0])), "duplicate server id 's0'"),
        (lambda d: d["servers"][0].update(nic_bandwidth=-1), "nic_bandwidth must be > 0, got -1"),
        (
            lambda d: d["servers"][0].update(link_bandwidth=float("inf")),
            "link_bandwidth must be finite, got inf",
        ),
        (lambda d: d["servers"][0].update(link="nic"), "link must be an intra-server kind"),
        (lambda d: d["racks"][0].update(speed=3), "unknown field 'speed'"),
    ],
)
def test_bad_cluster_input(mutate, message):
    d = {
        "name": "c",
        "racks": [{"id": "r0"}],
        "servers": [{"id": "s0", "rack": "r0", "gpu_type": "v100", "num_gpus": 4}],
    }
    mutate(d)
    with pytest.raises(InputError) as err:
        Cluster.from_dict(d)
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_extra_gpu_types_are_declared():
    c = Cluster("c", (Rack("r"),), (Server("s", "r", "mi300", 8),), extra_gpu_types=("mi300",))
    assert c.capacity("mi300") == 8


def test_single_server_builder():
    from optsched.model import single_server

    assert single_server(8).num_gpus == 8
