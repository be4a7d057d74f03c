"""Job types: what a job trains, and what the throughput model needs to know.

A job type has a per-GPU-type compute time (seconds per iteration on one GPU)
and a gradient size (bytes all-reduced per iteration). Gavel's 26 measured
types come with compute times taken from their measured single-GPU
throughputs; user-defined (parametric) types state both numbers themselves.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from types import MappingProxyType
from typing import Any

from ..errors import (
    InputError,
    check_keys,
    check_list,
    check_positive_int,
    check_real,
    check_str,
    get_field,
    where,
)
from ..model.gpus import gpu_type as gpu_spec
from ..model.testbeds import GAVEL
from .comm import LayerGroup
from .layers import tiresias_layers
from .measured import GAVEL_GPU_TYPES, MeasuredTable, gavel_table

#: Parameters of the models behind Gavel's job types (fp32, 4 bytes each).
#: ``approx`` marks counts estimated from the architecture Gavel's scripts use,
#: not counted from a checkpoint. Only multi-GPU types (the first four) are
#: ever all-reduced in Gavel's table; the rest matter only for extrapolation.
GAVEL_MODEL_PARAMS: dict[str, tuple[float, str]] = {
    "ResNet-18": (11_173_962, "ResNet-18, CIFAR-10 variant"),
    "ResNet-50": (25_557_032, "ResNet-50, ImageNet"),
    "Transformer": (5.3e7, "approx: 6+6 layers, d_model 512, Multi30k vocabularies"),
    "LM": (13_986_078, "2-layer LSTM, 200 units, WikiText-2 vocabulary 33,278"),
    "Recommendation": (2.4e7, "approx: VAE-CF autoencoder on ML-20M"),
    "A3C": (1.0e6, "approx: Atari actor-critic CNN"),
    "CycleGAN": (2.83e7, "approx: two ResNet generators, two PatchGAN discriminators"),
}


def gavel_family(job_type: str) -> str:
    """``'ResNet-50 (batch size 64)'`` -> ``'ResNet-50'``."""
    return re.sub(r"\s*\(batch size \d+\)$", "", job_type)


@dataclass(frozen=True)
class JobType:
    """A kind of training job.

    Attributes
    ----------
    name
        Unique name; jobs refer to it.
    compute_time
        Seconds per iteration on one GPU, by GPU type. GPU types absent here
        are extrapolated by peak FP32 TFLOPS from the nearest listed type.
    model_bytes
        Bytes all-reduced per iteration (gradient size), >= 0.
    overlap
        Fraction in [0, 1] of the compute time that can hide communication.
    source
        Where the numbers come from.
    contention
        Fractional slowdown of the compute time per extra GPU of the job on one
        server (data loading and PCIe shared by the server's GPUs), >= 0.
    layers, batch
        The gradient's layer groups, where they are known
        (:mod:`optsched.throughput.layers`), and the samples per worker and
        iteration (0: unknown). With them, ``strategy="best"`` may also choose a
        strategy per layer group (sufficient factors for a fully connected layer
        need ``batch``).
    """

    name: str
    compute_time: Mapping[str, float]
    model_bytes: float
    overlap: float = 0.0
    source: str = "user"
    measured: bool = field(default=False, compare=False)
    contention: float = 0.0
    layers: tuple[LayerGroup, ...] = ()
    batch: int = 0

    def __post_init__(self) -> None:
        ctx = where("job type", self.name)
        check_str(self.name, "name", "job type")
        if not isinstance(self.compute_time, Mapping) or not self.compute_time:
            raise InputError(
                f"{ctx}: compute_time must map GPU types to seconds, got {self.compute_time!r}"
            )
        for gt, t in self.compute_time.items():
            check_real(t, f"compute_time[{gt!r}]", ctx, strict=True)
        object.__setattr__(self, "compute_time", MappingProxyType(dict(self.compute_time)))
        check_real(self.model_bytes, "model_bytes", ctx)
        check_real(self.overlap, "overlap", ctx)
        if self.overlap > 1:
            raise InputError(f"{ctx}: overlap must be <= 1, got {self.overlap:g}")
        check_real(self.contention, "contention", ctx)
        object.__setattr__(self, "layers", tuple(self.layers))
        if any(not isinstance(g, LayerGroup) for g in self.layers):
            raise InputError(f"{ctx}: layers must be layer groups")
        total = sum(g.size for g in self.layers)
        if self.layers and not math.isclose(total, self.model_bytes, rel_tol=1e-9):
            raise InputError(
                f"{ctx}: layers hold {total:.6g} bytes, model_bytes is {self.model_bytes:.6g} "
                "(the groups must cover the whole gradient)"
            )
        check_positive_int(self.batch, "batch", ctx, minimum=0)

    def compute_on(self, gpu_type: str) -> float | None:
        """Seconds per iteration on one GPU of ``gpu_type``; ``None`` if unknown."""
        if gpu_type in self.compute_time:
            return self.compute_time[gpu_type]
        target = gpu_spec(gpu_type).tflops_fp32
        if math.isnan(target):
            return None
        known = [
            (gt, t)
            for gt, t in self.compute_time.items()
            if not math.isnan(gpu_spec(gt).tflops_fp32)
        ]
        if not known:
            return None
        ref, t = min(known, key=lambda kv: abs(math.log(gpu_spec(kv[0]).tflops_fp32 / target)))
        return t * gpu_spec(ref).tflops_fp32 / target

    def to_dict(self) -> dict[str, Any]:
        out = {
            "name": self.name,
            "compute_time": dict(self.compute_time),
            "model_bytes": self.model_bytes,
            "overlap": self.overlap,
            "source": self.source,
        }
        if self.contention:
            out["contention"] = self.contention
        if self.layers:
            out["layers"] = [_group_dict(g) for g in self.layers]
        if self.batch:
            out["batch"] = self.batch
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> JobType:
        check_keys(
            data,
            (
                "name",
                "compute_time",
                "model_bytes",
                "overlap",
                "source",
                "contention",
                "layers",
                "batch",
            ),
            "job type",
        )
        name = get_field(data, "name", "job type")
        ctx = where("job type", name)
        return cls(
            name,
            get_field(data, "compute_time", ctx),
            get_field(data, "model_bytes", ctx),
            data.get("overlap", 0.0),
            data.get("source", "user"),
            contention=data.get("contention", 0.0),
            layers=tuple(
                _group_from(g, ctx) for g in check_list(data.get("layers", []), "layers", ctx)
            ),
            batch=data.get("batch", 0),
        )


def _group_dict(g: LayerGroup) -> dict[str, Any]:
    if g.kind == "fc":
        return {"kind": "fc", "rows": g.rows, "cols": g.cols}
    out: dict[str, Any] = {"kind": g.kind, "bytes": g.bytes}
    if g.kind == "sparse":
        out["access"] = g.access
    return out


def _group_from(data: Any, ctx: str) -> LayerGroup:
    if not isinstance(data, Mapping):
        raise InputError(f"{ctx}: a layer group must be an object, got {data!r}")
    check_keys(data, ("kind", "bytes", "rows", "cols", "access"), f"{ctx}: layer group")
    try:
        return LayerGroup(
            get_field(data, "kind", f"{ctx}: layer group"),
            data.get("bytes", 0.0),
            data.get("rows", 0),
            data.get("cols", 0),
            data.get("access", 1.0),
        )
    except InputError as exc:
        raise InputError(f"{ctx}: {exc}") from None


@dataclass(frozen=True)
class Catalog:
    """Job types by name, plus the measured table that backs some of them."""

    job_types: Mapping[str, JobType]
    table: MeasuredTable

    def __getitem__(self, name: str) -> JobType:
        try:
            return self.job_types[name]
        except KeyError:
            raise InputError(f"unknown job type {name!r}") from None

    def __contains__(self, name: object) -> bool:
        return name in self.job_types

    def extended(self, extra: Iterable[JobType]) -> Catalog:
        """A catalog with ``extra`` types added; their names must be new."""
        types = dict(self.job_types)
        for jt in extra:
            if jt.name in types:
                raise InputError(f"job type {jt.name!r} already exists in the catalog")
            types[jt.name] = jt
        return Catalog(MappingProxyType(types), self.table)


@lru_cache(maxsize=1)
def default_catalog() -> Catalog:
    """Gavel's 26 measured job types: compute times from single-GPU throughputs, overlap
    from Gavel's testbed preset (per family; the families Gavel never measured spread
    take the family-blind fit)."""
    table = gavel_table()
    types: dict[str, JobType] = {}
    for name in table.job_types:
        compute = {
            gt: 1.0 / table.isolated[(name, gt, 1)]
            for gt in GAVEL_GPU_TYPES
            if (name, gt, 1) in table.isolated
        }
        params, note = GAVEL_MODEL_PARAMS[gavel_family(name)]
        family = gavel_family(name)
        batch = re.search(r"\(batch size (\d+)\)", name)
        layers = tiresias_layers("resnet50", 4.0 * params) if family == "ResNet-50" else ()
        types[name] = JobType(
            name,
            compute,
            4.0 * params,
            GAVEL.overlap.get(family, GAVEL.overlap_other),
            f"Gavel measured; model size: {note}",
            measured=True,
            layers=layers,
            batch=int(batch.group(1)) if batch else 0,
        )
    return Catalog(MappingProxyType(types), table)
