"""Throughput and communication model."""

from .comm import cerebro_volumes, format_bytes, ring_allreduce_time
from .jobtypes import Catalog, JobType, default_catalog
from .measured import MeasuredTable, gavel_table
from .model import ThroughputModel

__all__ = [
    "Catalog",
    "JobType",
    "MeasuredTable",
    "ThroughputModel",
    "cerebro_volumes",
    "default_catalog",
    "format_bytes",
    "gavel_table",
    "ring_allreduce_time",
]
