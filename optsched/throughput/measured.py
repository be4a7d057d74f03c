"""Gavel's measured throughput table, parsed once and cached.

Units: training iterations per second of the whole job (for a k-GPU job, the
job's total). Source and licence: ``throughput/data/README.md``.
"""

from __future__ import annotations

import ast
import json
from dataclasses import dataclass
from functools import cached_property, lru_cache
from importlib import resources

GAVEL_GPU_TYPES = ("k80", "p100", "v100")
GAVEL_SCALE_FACTORS = (1, 2, 4, 8)


@dataclass(frozen=True)
class MeasuredTable:
    """Measured throughputs keyed by ``(job_type, gpu_type, num_gpus)``.

    Attributes
    ----------
    isolated
        Job alone, GPUs packed on one server (consolidated).
    unconsolidated
        Job alone, GPUs spread over several servers.
    colocated
        ``(a, b, gpu_type, num_gpus) -> (throughput of a, throughput of b)``
        when a and b share the same GPUs. Pairs Gavel did not measure are absent.
    """

    isolated: dict[tuple[str, str, int], float]
    unconsolidated: dict[tuple[str, str, int], float]
    colocated: dict[tuple[str, str, str, int], tuple[float, float]]

    @cached_property
    def pairs(self) -> frozenset[tuple[str, str]]:
        """``(job_type, gpu_type)`` measured at some scale factor."""
        return frozenset((k[0], k[1]) for k in self.isolated)

    @property
    def job_types(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(k[0] for k in self.isolated))

    def scale_factors(self, job_type: str) -> tuple[int, ...]:
        return tuple(sorted({k[2] for k in self.isolated if k[0] == job_type}))


@lru_cache(maxsize=1)
def gavel_table() -> MeasuredTable:
    """Parse ``gavel_simulation_throughputs.json`` (the table Gavel's simulator uses)."""
    path = resources.files("optsched.throughput") / "data" / "gavel_simulation_throughputs.json"
    raw = json.loads(path.read_text())
    isolated: dict[tuple[str, str, int], float] = {}
    uncons: dict[tuple[str, str, int], float] = {}
    coloc: dict[tuple[str, str, str, int], tuple[float, float]] = {}
    for key, entries in raw.items():
        gpu_type, _, variant = key.partition("_")
        for job_key, partners in entries.items():
            job_type, scale = ast.literal_eval(job_key)
            alone = float(partners["null"])
            if alone <= 0:
                continue  # not runnable / not measured
            if variant == "unconsolidated":
                if scale > 1:
                    uncons[(job_type, gpu_type, scale)] = alone
                continue
            isolated[(job_type, gpu_type, scale)] = alone
            for partner_key, pair in partners.items():
                if partner_key == "null" or not (pair[0] > 0 and pair[1] > 0):
                    continue
                partner, _ = ast.literal_eval(partner_key)
                coloc[(job_type, partner, gpu_type, scale)] = (float(pair[0]), float(pair[1]))
    return MeasuredTable(isolated, uncons, coloc)
