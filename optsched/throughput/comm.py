"""Communication costs: collective times, synchronisation strategies and
model-selection volumes.

Collective times follow the alpha-beta model with NCCL's bus-bandwidth factors:
a ring all-reduce of ``M`` bytes over ``n`` ranks at per-rank bandwidth ``B``
takes ``2(n-1)/n * M / B`` seconds (plus ``2(n-1)`` message latencies ``alpha``).

**Strategies** (:func:`strategy_times`, :func:`best_strategy`). One job's
gradient synchronisation per iteration, on ``nodes`` servers of ``gpus``
workers each (``B_intra`` inside a server, ``B_net`` its NIC, shared by its
workers), each formula with its source and when it wins:

* ``ring``: flat ring over all ``N = nodes x gpus`` workers,
  ``2(N-1) alpha + 2(N-1)/N M / B_min`` with ``B_min`` the slowest link it
  crosses (NCCL's bus-bandwidth factor, nccl-tests ``PERFORMANCE.md``; Thakur,
  Rabenseifner and Gropp, IJHPCA 2005). Bandwidth-optimal: wins inside one server.
* ``halving_doubling``: Rabenseifner's recursive halving and doubling,
  ``2 log2(N) alpha`` and the ring's bandwidth term for ``N`` a power of two;
  otherwise the extra ranks first hand their vector to a partner and get the
  result back (``+ 2 (alpha + M / B_min)``). Step ``i`` exchanges ``M / 2^i``
  between ranks ``d = N / 2^i`` apart (ranks grouped by server): on a switch
  (NVSwitch) that costs its volume; inside a server whose links form a ring
  (PCIe, NVLink rings) the exchange shares ``d`` links; across servers the
  ``g`` workers of a server share its NIC (``g M / 2^i / B_net``). Wins when
  latency dominates and the fabric is switched.
* ``tree``: NCCL's double binary tree, ``2 ceil(log2 N) alpha + 2 M / B_min``
  (each of the two trees carries half of the data at full bandwidth; NVIDIA,
  "Massively scale your deep learning training with NCCL 2.4"). Latency grows
  as ``log N``: wins over many nodes with small messages.
* ``hierarchical``: reduce-scatter inside each server, all-reduce of the
  shards across servers through the one NIC, all-gather inside (Horovod's
  ``HOROVOD_HIERARCHICAL_ALLREDUCE``): ``2(g-1)/g M / B_intra + 2(n-1)/n M /
  B_net`` plus ``2(g-1) + 2(n-1)`` latencies. It sends ``2(n-1)/n M`` through a
  NIC against the flat ring's ``2(N-1)/N M``: wins across servers with fast
  links inside them.
* ``ps``: parameter servers co-located with the workers, one shard each: the
  ring's volume ``2(N-1)/N M`` and messages (BytePS ``docs/rationale.md``), but
  every worker talks to every other, so across servers the ``g`` workers of a
  server share its NIC (``B_net / g``); it never beats the ring on time alone
  and is listed for completeness.
* ``byteps``: ``n`` GPU servers and ``k`` spare CPU servers (bandwidth ``B_net``)
  sharing the summation in BytePS's optimal split (Jiang et al., OSDI'20):
  ``2 n (n-1) M / ((n^2 + k n - 2 k) B_net)``; all-reduce at ``k = 0``, a
  non-co-located parameter server (``M / B_net``, the floor: each server's NIC
  moves ``M``) at ``k = n``; more spare servers than GPU servers add nothing.
  Wins across servers when spare CPU servers exist, by up to 2x.

Per layer group (:class:`LayerGroup`), two kinds change the winner:

* a **fully connected** ``m x n`` layer can send sufficient factors instead
  of its gradient (Poseidon's SFB, Zhang et al., ATC'17): each worker sends
  its ``K`` pairs of factors to the ``P - 1`` others and receives theirs,
  ``K (P-1) (m + n)`` values each way (across servers the ``g`` workers of a
  server share its NIC), against the ring's ``2 (P-1)/P m n``; on one-GPU
  servers it wins when ``K P (m + n) < 2 m n``;
* a **sparse** variable (an embedding of ``w`` bytes of which each worker
  touches a fraction ``a`` per iteration): parameter servers move ``2 a w
  (P-1)/P``, an all-gather of the touched rows ``a w (P-1)``, a dense
  all-reduce ``2 w (P-1)/P`` (Parallax, Kim et al., EuroSys'19): PS wins.

Model-selection volumes are Cerebro's Table 2 (Nakandala et al., PVLDB 13(11),
2020), decentralized row as corrected by the paper's errata.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from ..errors import InputError, check_positive_int, check_real

GB = 1e9  # bytes; volumes use decimal units as Cerebro does


def ring_allreduce_time(model_bytes: float, n: int, bandwidth_gbps: float) -> float:
    """Seconds for a ring all-reduce: ``2(n-1)/n * M / B``.

    ``bandwidth_gbps`` is GB/s per direction of the ring's bottleneck link.
    Zero for ``n <= 1``.
    """
    if n <= 1 or model_bytes == 0:
        return 0.0
    if bandwidth_gbps <= 0 or math.isnan(bandwidth_gbps):
        raise InputError(f"bandwidth must be > 0, got {bandwidth_gbps}")
    return 2.0 * (n - 1) / n * model_bytes / (bandwidth_gbps * GB)


@dataclass(frozen=True)
class Network:
    """Where one job synchronises: ``nodes`` servers of ``gpus`` workers each.

    Bandwidths in GB/s per direction: ``intra`` between the workers of one
    server, ``net`` of a server's NIC (shared by its workers); ``alpha`` seconds
    of latency per message; ``spare_cpu_servers`` CPU-only servers with NICs
    of ``net`` that BytePS can sum on; ``intra_switched``: the server's GPUs meet
    in a switch (NVSwitch) rather than a ring of links.
    """

    nodes: int
    gpus: int
    intra: float
    net: float = math.inf
    alpha: float = 0.0
    spare_cpu_servers: int = 0
    intra_switched: bool = False

    def __post_init__(self) -> None:
        check_positive_int(self.nodes, "nodes", "network")
        check_positive_int(self.gpus, "gpus", "network")
        check_real(self.intra, "intra", "network", strict=True)
        if self.nodes > 1 and math.isinf(self.net):
            raise InputError("network: several nodes need a finite net bandwidth")
        if not math.isinf(self.net):
            check_real(self.net, "net", "network", strict=True)
        check_real(self.alpha, "alpha", "network")
        if self.spare_cpu_servers < 0:
            raise InputError(
                f"network: spare_cpu_servers must be >= 0, got {self.spare_cpu_servers}"
            )

    @property
    def workers(self) -> int:
        return self.nodes * self.gpus

    @property
    def slowest(self) -> float:
        """The slowest link a flat collective over every worker crosses (GB/s)."""
        if self.nodes > 1:
            return min(self.intra, self.net) if self.gpus > 1 else self.net
        return self.intra


def _ring(m: float, n: int, bw: float, alpha: float) -> float:
    """:func:`ring_allreduce_time` with ``2(n-1)`` message latencies."""
    return 0.0 if n <= 1 else 2 * (n - 1) * alpha + ring_allreduce_time(m, n, bw)


def strategy_times(model_bytes: float, net: Network) -> dict[str, float]:
    """Seconds per synchronisation of ``model_bytes`` of dense gradient under each
    strategy that applies to ``net`` (see the module docstring)."""
    m = check_real(model_bytes, "model_bytes", "comm")
    n, a, slow = net.workers, net.alpha, net.slowest
    if n <= 1 or m == 0:
        return dict.fromkeys(("ring", "halving_doubling", "tree", "ps"), 0.0)
    out = {"ring": _ring(m, n, slow, a)}
    steps = int(math.log2(n))
    p2 = 2**steps
    # step i exchanges M / 2^i between ranks p2 / 2^i apart (ranks grouped by server):
    # across servers the server's g workers share its NIC; inside a ring-connected
    # server an exchange at distance d shares d links; a switch shares nothing
    seconds = 0.0
    for i in range(1, steps + 1):
        d, vol = p2 // 2**i, m / 2**i
        if d >= net.gpus and net.nodes > 1:
            seconds += vol * max(net.gpus / net.net, 1 / net.intra) / GB
        else:
            seconds += vol * (1 if net.intra_switched else min(d, net.gpus)) / (net.intra * GB)
    hd = 2 * steps * a + 2 * seconds  # reduce-scatter, then all-gather
    if p2 != n:  # the extra ranks' vectors go to a partner and come back
        hd += 2 * (a + m / (slow * GB))
    out["halving_doubling"] = hd
    out["tree"] = 2 * math.ceil(math.log2(n)) * a + 2 * m / (slow * GB)
    # the ring's volume and messages; across servers a server's g workers share its NIC
    ps_bw = min(net.intra, net.net / net.gpus) if net.nodes > 1 else slow
    out["ps"] = _ring(m, n, ps_bw, a)
    if net.nodes > 1:
        g, k = net.gpus, net.nodes
        out["hierarchical"] = _ring(m, g, net.intra, a) + _ring(m, k, net.net, a)
        if net.spare_cpu_servers:  # the split's optimum holds up to as many as GPU servers
            c = min(net.spare_cpu_servers, k)
            inner = _ring(m, g, net.intra, a)  # the server's workers reduce first
            out["byteps"] = inner + 2 * k * (k - 1) * m / ((k * k + c * k - 2 * c) * net.net * GB)
    return out


def best_group_strategy(group: LayerGroup, net: Network, batch: int = 0) -> tuple[str, float]:
    """The fastest strategy for one layer group and its time; ``batch`` 0 (unknown)
    leaves sufficient factors out (ties: the order of :func:`group_times`)."""
    times = group_times(group, net, max(batch, 1))
    if not batch:
        times.pop("sfb", None)
    name = min(times, key=lambda s: times[s])
    return name, times[name]


def best_strategy(model_bytes: float, net: Network) -> tuple[str, float]:
    """The fastest strategy for ``net`` and its time (ties: the order of
    :func:`strategy_times`, ring first)."""
    times = strategy_times(model_bytes, net)
    name = min(times, key=lambda s: times[s])
    return name, times[name]


@dataclass(frozen=True)
class LayerGroup:
    """Part of a model's gradient: ``dense`` bytes, a fully connected ``rows x cols``
    layer (``fc``), or a ``sparse`` variable of ``bytes`` of which each worker touches
    a fraction ``access`` per iteration."""

    kind: str
    bytes: float = 0.0
    rows: int = 0
    cols: int = 0
    access: float = 1.0

    def __post_init__(self) -> None:
        ctx = "layer group"
        if not isinstance(self.kind, str) or self.kind not in ("dense", "fc", "sparse"):
            raise InputError(f"{ctx}: kind must be dense, fc or sparse, got {self.kind!r}")
        for name in ("rows", "cols"):
            check_positive_int(getattr(self, name), name, ctx, minimum=0)
        if self.kind == "fc" and not (self.rows > 0 and self.cols > 0):
            raise InputError(f"{ctx}: an fc layer needs rows and cols > 0")
        if self.kind != "fc":
            check_real(self.bytes, "bytes", ctx, strict=True)
        access = check_real(self.access, "access", ctx, minimum=None)
        if not 0 < access <= 1:
            raise InputError(f"{ctx}: access must be in (0, 1], got {access:g}")

    @property
    def size(self) -> float:
        """Bytes of the (dense) gradient (fp32)."""
        return 4.0 * self.rows * self.cols if self.kind == "fc" else self.bytes


def group_times(group: LayerGroup, net: Network, batch: int = 1) -> dict[str, float]:
    """Seconds per synchronisation of one layer group under each strategy that applies:
    the dense ones of :func:`strategy_times` on its gradient, and for an ``fc`` layer
    ``sfb`` (``batch`` samples per worker), for a ``sparse`` one ``ps_sparse`` and
    ``allgather_sparse``."""
    out = strategy_times(group.size, net)
    p, bw = net.workers, net.slowest * GB
    if p <= 1:
        return out
    if group.kind == "fc":  # each worker's factors to and from the P - 1 others
        factors = batch * (p - 1) * (group.rows + group.cols) * 4.0  # bytes each way
        # across servers a server's workers share its NIC, as for parameter servers
        per_worker = min(net.intra, net.net / net.gpus) * GB if net.nodes > 1 else bw
        out["sfb"] = 2 * (p - 1) * net.alpha + factors / per_worker
    if group.kind == "sparse":
        touched = group.access * group.bytes
        out["ps_sparse"] = 2 * (p - 1) * net.alpha + 2 * touched * (p - 1) / p / bw
        out["allgather_sparse"] = (p - 1) * net.alpha + touched * (p - 1) / bw
    return out


@dataclass(frozen=True)
class CommRow:
    approach: str
    formula: str
    bytes: float


def cerebro_volumes(
    epochs: int,
    configs: int,
    workers: int,
    model_bytes: float,
    dataset_bytes: float,
    iters_per_epoch: float,
) -> list[CommRow]:
    """Communication volume of training ``configs`` models for ``epochs`` epochs.

    Parameters follow Cerebro's notation: ``k`` epochs, ``|S|`` configs, ``p``
    workers (one data partition each), model size ``m`` bytes, dataset size
    ``<D>`` bytes and ``|D|/b`` mini-batches per epoch (``iters_per_epoch``).

    MOP's ``k m p |S|`` term is the lower bound: every model must visit every
    partition once per epoch, and a visit moves the model once.
    """
    k = check_positive_int(epochs, "epochs", "comm")
    s = check_positive_int(configs, "configs", "comm")
    p = check_positive_int(workers, "workers", "comm")
    m = check_real(model_bytes, "model_bytes", "comm")
    d = check_real(dataset_bytes, "dataset_bytes", "comm")
    it = check_real(iters_per_epoch, "iters_per_epoch", "comm", strict=True)
    per_worker_iters = it / p
    return [
        CommRow("Model hopper parallelism (MOP)", "k m p |S| + m |S|", k * m * p * s + m * s),
        CommRow("Task parallelism, full replication", "p <D> + m |S|", p * d + m * s),
        CommRow("Task parallelism, remote reads", "k |S| <D> + m |S|", k * s * d + m * s),
        CommRow("Bulk synchronous parallelism (model averaging)", "2 k m p |S|", 2 * k * m * p * s),
        CommRow(
            "Parameter server (centralized fine-grained)",
            "2 k m p |S| |D|/(b p)",
            2 * k * m * p * s * per_worker_iters,
        ),
        CommRow(
            "Ring all-reduce (decentralized fine-grained)",
            "2 k m (p-1) |S| |D|/(b p)",
            2 * k * m * (p - 1) * s * per_worker_iters,
        ),
        CommRow("Lower bound (MOP)", "k m p |S|", k * m * p * s),
    ]


_UNITS = [("PB", 1e15), ("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("KB", 1e3), ("B", 1.0)]


def format_bytes(n: float) -> str:
    """Decimal units, up to two decimals, trailing zeros dropped: ``4.02 TB``, ``80 PB``."""
    for unit, size in _UNITS:
        if abs(n) >= size or unit == "B":
            text = f"{n / size:.2f}".rstrip("0").rstrip(".")
            return f"{text} {unit}"
    raise AssertionError("unreachable")


_SIZE = re.compile(r"^\s*((?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)\s*([KMGTP]?B)?\s*$", re.IGNORECASE)


def parse_bytes(text: str, field: str) -> float:
    """``'1GB'``, ``'1 TB'``, ``'1e9'`` -> bytes (decimal units)."""
    match = _SIZE.match(str(text))
    if not match:
        raise InputError(f"comm: {field} must be a size such as 1GB or 1e9, got {text!r}")
    value = float(match.group(1)) * dict(_UNITS)[(match.group(2) or "B").upper()]
    if not 0 < value < math.inf:
        raise InputError(f"comm: {field} must be a positive finite size, got {text!r}")
    return value
