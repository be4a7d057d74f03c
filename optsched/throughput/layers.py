"""Per-layer gradient tensors of common models, for per-layer strategy choice.

Tiresias's simulator lists, for nine models, the gradient tensors of about
1 MiB and up (``data/tiresias_tensors.csv``, provenance in the data README);
the fully connected ones carry their weight's shape, so sufficient-factor
broadcasting can be costed (:func:`optsched.throughput.comm.group_times`).
Small tensors are not listed: given the model's gradient size,
:func:`tiresias_layers` adds them as one dense group.
"""

from __future__ import annotations

import csv
from functools import lru_cache
from importlib import resources

from ..errors import InputError
from .comm import LayerGroup

MIB = 2.0**20


@lru_cache(maxsize=1)
def _table() -> dict[str, tuple[LayerGroup, ...]]:
    out: dict[str, list[LayerGroup]] = {}
    path = resources.files("optsched.throughput") / "data" / "tiresias_tensors.csv"
    with path.open() as fh:
        for r in csv.DictReader(fh):
            if r["kind"] == "fc":
                group = LayerGroup("fc", rows=int(r["rows"]), cols=int(r["cols"]))
            else:
                group = LayerGroup("dense", float(r["mib"]) * MIB)
            out.setdefault(r["model"], []).append(group)
    return {m: tuple(v) for m, v in out.items()}


TIRESIAS_MODELS = ("vgg19", "vgg16", "vgg11", "alexnet", "resnet152", "resnet101",
                   "resnet50", "inception4", "inception3")  # fmt: skip


def tiresias_layers(model: str, model_bytes: float | None = None) -> tuple[LayerGroup, ...]:
    """``model``'s listed tensors, plus (given its gradient size) one dense group for
    the tensors too small to be listed."""
    table = _table()
    if model not in table:
        raise InputError(f"unknown Tiresias model {model!r} (known: {', '.join(TIRESIAS_MODELS)})")
    groups = table[model]
    listed = sum(g.size for g in groups)
    if model_bytes is not None and model_bytes > listed:
        groups = (*groups, LayerGroup("dense", model_bytes - listed))
    return groups
