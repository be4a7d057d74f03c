import pytest

from optsched.cli import main
from optsched.errors import InputError
from optsched.throughput.comm import (
    cerebro_volumes,
    format_bytes,
    parse_bytes,
    ring_allreduce_time,
)

# Cerebro Table 2 (errata) example: k=20, |S|=20, p=10, m=1 GB, <D>=1 TB, |D|/b=1e5
EXPECTED = ["4.02 TB", "10.02 TB", "400.02 TB", "8 TB", "80 PB", "72 PB"]


def test_cerebro_table_row_for_row():
    rows = cerebro_volumes(20, 20, 10, 1e9, 1e12, 1e5)
    assert [format_bytes(r.bytes) for r in rows[:6]] == EXPECTED
    assert rows[0].bytes == 4.02e12
    assert rows[6].bytes == 4e12  # lower bound k m p |S|
    # PS is 10,000x BSP, all-reduce 9,000x, as the paper says
    assert rows[4].bytes / rows[3].bytes == pytest.approx(1e4)
    assert rows[5].bytes / rows[3].bytes == pytest.approx(9e3)


def test_comm_cli_prints_the_table(capsys):
    assert main(["comm"]) == 0
    out = capsys.readouterr().out
    for text in EXPECTED:
        assert text in out


def test_comm_cli_json_other_parameters(capsys):
    assert main(["comm", "--json", "-k", "1", "-S", "2", "-p", "4", "-m", "10MB"]) == 0
    import json

    rows = json.loads(capsys.readouterr().out)["rows"]
    assert rows[0]["bytes"] == 1 * 10e6 * 4 * 2 + 10e6 * 2


def test_ring_allreduce_formula():
    # 2 (n-1)/n * M / B = 2 * 7/8 * 1e9 / 25e9
    assert ring_allreduce_time(1e9, 8, 25.0) == pytest.approx(0.07)
    assert ring_allreduce_time(1e9, 1, 25.0) == 0.0


def test_parse_bytes():
    assert parse_bytes("1GB", "m") == 1e9
    assert parse_bytes("2.5 tb", "m") == 2.5e12
    assert parse_bytes("1e6", "m") == 1e6
    with pytest.raises(InputError, match="comm: m must be a size"):
        parse_bytes("lots", "m")


def test_comm_cli_bad_size(capsys):
    assert main(["comm", "-m", "huge"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "model-size" in err


# ------------------------------------------------------------ strategies (hand-derived)
from optsched.throughput.comm import (  # noqa: E402
    LayerGroup,
    Network,
    best_strategy,
    group_times,
    strategy_times,
)

MB = 1e6


def test_one_ring_connected_server_favours_ring():
    # 8 GPUs on an NVLink ring, 150 GB/s, 5 us per message, 100 MB of gradient:
    # ring 14 alpha + 2*7/8 * 0.1 GB / 150 = 1.2367 ms; halving-doubling's long
    # exchanges share links: 6 alpha + 2 * (4/2 + 2/4 + 1/8) * 0.1 / 150 = 3.53 ms;
    # tree 6 alpha + 2 * 0.1 / 150 = 1.3633 ms
    net = Network(1, 8, intra=150.0, alpha=5e-6)
    t = strategy_times(100 * MB, net)
    assert t["ring"] == pytest.approx(14 * 5e-6 + 1.75 * 0.1 / 150)
    assert t["halving_doubling"] == pytest.approx(6 * 5e-6 + 2 * 2.625 * 0.1 / 150)
    assert t["tree"] == pytest.approx(6 * 5e-6 + 0.2 / 150)
    assert "hierarchical" not in t and "byteps" not in t
    assert best_strategy(100 * MB, net)[0] == "ring"
    # on NVSwitch the exchanges do not contend: halving-doubling ties the ring's
    # bandwidth and saves latency
    switched = Network(1, 8, intra=150.0, alpha=5e-6, intra_switched=True)
    assert best_strategy(100 * MB, switched)[0] == "halving_doubling"


def test_spare_cpu_servers_favour_byteps():
    # 16 one-GPU servers, 10 GB/s NICs, 16 spare CPU servers: BytePS's optimum is
    # 2*16*15 M / ((256 + 256 - 32) B) = M / B = 10 ms for 100 MB; the ring 18.75 ms
    net = Network(16, 1, intra=15.75, net=10.0, alpha=5e-6, spare_cpu_servers=16)
    t = strategy_times(100 * MB, net)
    assert t["byteps"] == pytest.approx(0.1 / 10)
    assert t["ring"] == pytest.approx(30 * 5e-6 + 1.875 * 0.01)
    assert best_strategy(100 * MB, net) == ("byteps", pytest.approx(0.01))
    # no spare servers: BytePS is all-reduce, not on the list
    assert "byteps" not in strategy_times(100 * MB, Network(16, 1, 15.75, 10.0))
    # more spare servers than GPU servers add nothing: M / B is the floor
    more = strategy_times(100 * MB, Network(3, 1, 15.75, 10.0, spare_cpu_servers=6))
    assert more["byteps"] == pytest.approx(0.01)
    # k spare servers of n: between all-reduce (k = 0) and PS (k = n)
    half = strategy_times(100 * MB, Network(16, 1, 15.75, 10.0, spare_cpu_servers=8))
    assert half["byteps"] == pytest.approx(2 * 16 * 15 * 0.1 / ((256 + 128 - 16) * 10))


def test_fast_links_inside_servers_favour_hierarchical():
    # 4 servers x 8 GPUs, NVLink 150 GB/s inside, 10 GB/s NICs: the flat ring moves
    # 2*31/32 M through each NIC, hierarchical 2*3/4 M plus 2*7/8 M over NVLink
    net = Network(4, 8, intra=150.0, net=10.0)
    t = strategy_times(1000 * MB, net)
    assert t["ring"] == pytest.approx(2 * 31 / 32 * 1.0 / 10)
    assert t["hierarchical"] == pytest.approx(1.75 * 1.0 / 150 + 1.5 * 1.0 / 10)
    assert best_strategy(1000 * MB, net)[0] == "hierarchical"


def test_small_messages_over_many_nodes_favour_log_latency():
    # 64 one-GPU servers, 1 KB, 10 us per message: the ring's 126 messages cost
    # 1.26 ms, a tree's or halving-doubling's 12 cost 0.12 ms
    net = Network(64, 1, intra=15.75, net=10.0, alpha=1e-5)
    t = strategy_times(1e3, net)
    assert t["ring"] == pytest.approx(126e-5, rel=1e-3)
    assert best_strategy(1e3, net)[0] in ("halving_doubling", "tree")
    assert min(t["tree"], t["halving_doubling"]) < t["ring"] / 10


def test_sparse_embedding_favours_ps():
    # 400 MB embedding, each worker touches 1% per iteration, 16 one-GPU servers at
    # 10 GB/s: PS moves 2 * 4 MB * 15/16 (0.75 ms), an all-gather of the rows 4 MB * 15
    # (6 ms), a dense ring 2*15/16 * 400 MB (75 ms)
    emb = LayerGroup("sparse", bytes=400 * MB, access=0.01)
    net = Network(16, 1, intra=15.75, net=10.0)
    t = group_times(emb, net)
    assert t["ps_sparse"] == pytest.approx(2 * 4e6 * 15 / 16 / 10e9)  # no latency here
    assert t["allgather_sparse"] == pytest.approx(4e6 * 15 / 10e9)
    assert t["ring"] == pytest.approx(1.875 * 0.4 / 10)
    assert min(t, key=t.get) == "ps_sparse"


def test_fc_layer_sufficient_factors_win_at_small_batch():
    # a 4096 x 4096 FC layer (67 MB) on 8 one-GPU servers at 10 GB/s: SFB sends (and
    # receives) K * 7 * 8192 floats; at K = 32 that is 7.3 MB (0.73 ms) against the
    # ring's 2*7/8 * 67.1 MB (11.7 ms); at K = 1024 it is 235 MB and loses
    # (SFB wins while K P (m + n) < 2 m n: K < 512 here)
    fc = LayerGroup("fc", rows=4096, cols=4096)
    net = Network(8, 1, intra=15.75, net=10.0)
    small = group_times(fc, net, batch=32)
    assert small["sfb"] == pytest.approx(32 * 7 * 8192 * 4 / 10e9)
    assert min(small, key=small.get) == "sfb"
    big = group_times(fc, net, batch=1024)
    assert min(big, key=big.get) != "sfb"
    edge = {k: group_times(fc, net, batch=k) for k in (511, 513)}
    assert edge[511]["sfb"] < edge[511]["ring"] and edge[513]["sfb"] > edge[513]["ring"]


def test_strategy_inputs_are_checked():
    with pytest.raises(InputError, match="network: several nodes need a finite net"):
        Network(2, 4, intra=10.0)
    with pytest.raises(InputError, match="layer group: kind must be dense, fc or sparse"):
        LayerGroup("conv")
    with pytest.raises(InputError, match="access must be in"):
        LayerGroup("sparse", bytes=1.0, access=0.0)
    # one worker has nothing to synchronise
    assert set(strategy_times(1e9, Network(1, 1, intra=10.0)).values()) == {0.0}


def test_strategies_command(capsys):
    import json

    assert main(["throughput", "strategies", "--nodes", "16", "--gpus", "1", "--net", "10",
                 "--spare-cpu", "16", "--json"]) == 0  # fmt: skip
    got = json.loads(capsys.readouterr().out)
    assert got["best"] == "byteps" and got["seconds"]["byteps"] == pytest.approx(0.01)
    assert main(["throughput", "strategies", "--gpus", "8"]) == 0
    assert "ring" in capsys.readouterr().out.split("<- best")[0].splitlines()[-1]
    assert main(["throughput", "strategies", "--model-size", "0GB"]) == 2
    assert "model-size must be a positive finite size" in capsys.readouterr().err
