"""Testbed presets: what two published testbeds' measurements say about their networks.

Spec sheets miss measured placements badly (Pollux's 50 Gb/s network predicts
its multi-node step times 94% off). Each preset instead carries parameters
fitted on the testbed's own measurements by
:mod:`optsched.throughput.testbeds`, with the held-out error of the fit:

``network``
    Effective bandwidth between servers, GB/s per direction (the NIC bandwidth
    of the preset's servers).
``allreduce_latency``, ``two_server_factor``
    The cluster's fixed cost per all-reduce, and the multiplier on a ring over
    exactly two servers (see :class:`optsched.model.topology.Cluster`).
``overlap``, ``contention``
    Per model (Gavel's families, Pollux's applications): the fraction of the
    compute time that hides communication, and the compute slowdown per extra
    GPU of a job on one server. ``overlap_other`` serves models the testbed
    never measured spread.

``optsched throughput validate`` refits both and prints the held-out errors;
a test checks that the numbers here are the fit's, to the digits shown.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

#: Parameters of Pollux's six models (fp32 gradients are 4 bytes each) and what
#: the count is. ``approx``: estimated from the training script's architecture.
POLLUX_MODELS: dict[str, tuple[float, str]] = {
    "cifar10": (11_173_962, "ResNet-18, CIFAR-10 variant"),
    "imagenet": (25_557_032, "ResNet-50"),
    "bert": (1.10e8, "BERT-base"),
    "yolov3": (6.19e7, "YOLOv3, Darknet-53 backbone"),
    "deepspeech2": (8.7e7, "approx: 2 conv + 5 bidirectional LSTM layers of 1024 units"),
    "ncf": (1.6e6, "approx: NeuMF on MovieLens-1M"),
}


@dataclass(frozen=True)
class Testbed:
    """A testbed's fitted communication parameters (see the module docstring)."""

    name: str
    description: str
    gpu_types: tuple[str, ...]
    gpus_per_server: int
    network: float
    allreduce_latency: float = 0.0
    two_server_factor: float = 1.0
    overlap: Mapping[str, float] = field(default_factory=dict)
    overlap_other: float = 0.0
    contention: Mapping[str, float] = field(default_factory=dict)
    held_out: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "overlap", MappingProxyType(dict(self.overlap)))
        object.__setattr__(self, "contention", MappingProxyType(dict(self.contention)))

    def with_fit(self, **fitted: Any) -> Testbed:
        return replace(self, **fitted)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "network_GBps": self.network,
            "allreduce_latency_s": self.allreduce_latency,
            "two_server_factor": self.two_server_factor,
            "overlap": dict(self.overlap),
            "overlap_other": self.overlap_other,
            "contention": dict(self.contention),
            "held_out": self.held_out,
        }


GAVEL = Testbed(
    "gavel",
    "Gavel's servers of 4 V100 (NVLink), P100 or K80 (PCIe) GPUs on 10 GbE",
    ("v100", "p100", "k80"),
    4,
    network=1.043,
    overlap={"LM": 0.0, "ResNet-18": 0.2685, "ResNet-50": 0.1893, "Transformer": 0.01919},
    overlap_other=0.1433,
    held_out=(
        "leave one entry out, Gavel's 165 unconsolidated throughputs: 11.3% mean error "
        "(spec 10 GbE without overlap: 14.7%)"
    ),
)

POLLUX = Testbed(
    "pollux",
    "Pollux's 16 nodes of 4 T4 GPUs (PCIe 3.0) on 50 Gb/s Ethernet",
    ("t4",),
    4,
    network=0.7657,
    allreduce_latency=0.003370,
    two_server_factor=1.520,
    overlap={
        "cifar10": 0.4413,
        "imagenet": 0.4442,
        "bert": 0.2792,
        "yolov3": 0.04847,
        "deepspeech2": 0.6803,
        "ncf": 0.4065,
    },
    overlap_other=0.4328,
    contention={
        "cifar10": 0.07046,
        "imagenet": 0.03654,
        "bert": 0.04352,
        "yolov3": 0.1595,
        "deepspeech2": 0.07159,
        "ncf": 0.2341,
    },
    held_out=(
        "leave one model out, Pollux's multi-node step times: 11.2% mean error "
        "(11.0% over all 5,485 multi-GPU ones; spec 50 Gb/s: 93.9%; one fitted bandwidth: "
        "23.1%)"
    ),
)

TESTBEDS = {"gavel": GAVEL, "pollux": POLLUX}
