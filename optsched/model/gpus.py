"""GPU types and interconnect defaults, from public spec sheets.

Bandwidths are in GB/s (10^9 bytes per second) per direction; links are full
duplex. Peak FP32 throughput is in TFLOPS and serves only to extrapolate a
measured job type to a GPU type it was not measured on.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class LinkKind(str, Enum):
    """Kinds of link in a cluster graph, from the GPU outwards."""

    NVSWITCH = "nvswitch"  #: GPU to an NVSwitch fabric inside a server
    NVLINK = "nvlink"  #: GPU to GPU NVLink mesh inside a server (modelled as a fabric)
    PCIE = "pcie"  #: GPU to the host PCIe root complex
    NIC = "nic"  #: server to its top-of-rack switch
    UPLINK = "uplink"  #: top-of-rack switch to the spine


#: Default bandwidth per link kind (GB/s per direction) and the spec it comes from.
LINK_DEFAULTS: dict[LinkKind, tuple[float, str]] = {
    LinkKind.NVSWITCH: (300.0, "NVLink 3 via NVSwitch (A100 HGX): 600 GB/s bidirectional per GPU"),
    LinkKind.NVLINK: (150.0, "NVLink 2 (V100 SXM2): 6 links x 25 GB/s per direction"),
    LinkKind.PCIE: (15.75, "PCIe 3.0 x16: 8 GT/s x 16 lanes, 128b/130b"),
    LinkKind.NIC: (1.25, "10 Gigabit Ethernet"),
    LinkKind.UPLINK: (12.5, "100 Gb/s top-of-rack uplink"),
}

#: Common NIC speeds, GB/s.
NIC_GBPS = {"10GbE": 1.25, "25GbE": 3.125, "50GbE": 6.25, "100Gb": 12.5, "200Gb": 25.0}


@dataclass(frozen=True)
class GpuType:
    """A GPU model.

    Attributes
    ----------
    name
        Lower-case key used in instances (``"v100"``).
    tflops_fp32
        Peak FP32 TFLOPS (dense), from the vendor's data sheet.
    memory_gb
        Device memory in GB.
    """

    name: str
    tflops_fp32: float
    memory_gb: float


GPU_TYPES: dict[str, GpuType] = {
    g.name: g
    for g in (
        GpuType("k80", 4.37, 12),  # one GK210 die of a K80 board
        GpuType("p40", 11.76, 24),
        GpuType("p100", 9.3, 16),  # PCIe variant
        GpuType("v100", 15.7, 16),  # SXM2
        GpuType("t4", 8.1, 16),
        GpuType("a10", 31.2, 24),
        GpuType("a100", 19.5, 80),
        GpuType("h100", 67.0, 80),  # SXM5
    )
}


def gpu_type(name: str) -> GpuType:
    """Look up a GPU type; unknown names fall back to a spec-less entry."""
    return GPU_TYPES.get(name, GpuType(name, float("nan"), float("nan")))
