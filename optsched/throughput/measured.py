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
    unavailable
        ``(a, b, gpu_type)``: single-GPU pairs Gavel records as ``[0, 0]`` although
        both jobs run there alone: they did not fit on one GPU together. (Every
        multi-GPU pair is ``[0, 0]``: never measured, so not listed here.)
    """

    isolated: dict[tuple[str, str, int], float]
    unconsolidated: dict[tuple[str, str, int], float]
    colocated: dict[tuple[str, str, str, int], tuple[float, float]]
    unavailable: frozenset[tuple[str, str, str]] = frozenset()

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
    zeros: list[tuple[str, str, str]] = []
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
                if partner_key == "null":
                    continue
                partner, _ = ast.literal_eval(partner_key)
                if pair[0] > 0 and pair[1] > 0:
                    coloc[(job_type, partner, gpu_type, scale)] = (float(pair[0]), float(pair[1]))
                elif scale == 1:
                    zeros.append((job_type, partner, gpu_type))
    runs = {(j, g) for (j, g, k) in isolated if k == 1}
    gone = frozenset(z for z in zeros if (z[0], z[2]) in runs and (z[1], z[2]) in runs)
    return MeasuredTable(isolated, uncons, coloc, gone)
