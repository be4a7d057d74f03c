"""Communication costs: collective times and model-selection volumes.

Collective times follow the alpha-beta model with NCCL's bus-bandwidth factors:
a ring all-reduce of ``M`` bytes over ``n`` ranks at per-rank bandwidth ``B``
takes ``2(n-1)/n * M / B`` seconds.

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
