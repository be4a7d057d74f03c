"""Clusters, GPU types and topology builders."""

from .builders import gavel, homogeneous, nvswitch_pod, philly, pollux, single_server
from .gpus import GPU_TYPES, LINK_DEFAULTS, GpuType, LinkKind
from .topology import Cluster, Rack, Server

__all__ = [
    "GPU_TYPES",
    "LINK_DEFAULTS",
    "Cluster",
    "GpuType",
    "LinkKind",
    "Rack",
    "Server",
    "gavel",
    "homogeneous",
    "nvswitch_pod",
    "philly",
    "pollux",
    "single_server",
]
