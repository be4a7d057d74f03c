"""How well the parametric throughput model predicts measurements it never saw.

Two held-out checks, both on throughput (iterations per second):

* **Gavel, unconsolidated.** For every multi-GPU job type measured spread over
  servers, predict that value from the other measurements and the spec-sheet
  topology of a Gavel cluster (10 GbE between servers):

  - ``anchored`` (rule 3 of :mod:`optsched.throughput.model`): from the
    measured consolidated throughput plus the ring all-reduce time the network
    hop adds;
  - ``parametric`` (rule 5): from the one-GPU compute time alone.

* **Pollux, placements.** For every multi-GPU placement Pollux measured on its
  T4 testbed (4 GPUs per node), predict the step time as the measured one-GPU
  step time at the same local batch size plus the ring all-reduce time over
  the placement's bottleneck bandwidth (PCIe 3.0 inside a node, the network
  across nodes). ``spec`` uses the testbed's 50 Gb/s network; ``fitted`` uses
  one effective network bandwidth for the whole testbed, fitted on the other
  five models (leave one model out), so every reported error is held out.

* **Gavel, co-located pairs.** For every measured single-GPU pair, predict
  each job's interference factor from the other pairs of its GPU type (leave
  one unordered pair out): ``fitted`` is the pressure-sensitivity model of
  :mod:`optsched.throughput.interference`, ``constant`` the mean factor of the
  other pairs, ``blox-0.6`` ... Blox's constant factors (they use no data).

The error of one prediction is ``|predicted - measured| / measured``.

Also reported: the unconsolidated entries Gavel measured faster than the
consolidated ones (the evidence behind the throughput model's ``spread``
option).
"""

from __future__ import annotations

import csv
from collections import defaultdict
from dataclasses import asdict, dataclass
from importlib import resources
from typing import Any

import numpy as np

from ..model.gpus import LINK_DEFAULTS, NIC_GBPS, LinkKind
from .comm import ring_allreduce_time
from .interference import BLOX_CONSTANTS, constant_out, leave_one_pair_out
from .jobtypes import default_catalog
from .measured import GAVEL_GPU_TYPES

#: Parameters of Pollux's six models (fp32 bytes are 4x). ``approx``: estimated
#: from the architecture of the training script, not counted.
POLLUX_MODEL_PARAMS: dict[str, tuple[float, str]] = {
    "cifar10": (11_173_962, "ResNet-18, CIFAR-10 variant"),
    "imagenet": (25_557_032, "ResNet-50"),
    "bert": (1.10e8, "BERT-base"),
    "yolov3": (6.19e7, "YOLOv3, Darknet-53 backbone"),
    "deepspeech2": (8.7e7, "approx: 2 conv + 5 bidirectional LSTM layers of 1024 units"),
    "ncf": (1.6e6, "approx: NeuMF on MovieLens-1M"),
}

POLLUX_PCIE = LINK_DEFAULTS[LinkKind.PCIE][0]
POLLUX_NIC = NIC_GBPS["50GbE"]
GAVEL_NIC = NIC_GBPS["10GbE"]
GAVEL_INTRA = {"v100": LINK_DEFAULTS[LinkKind.NVLINK][0], "p100": POLLUX_PCIE, "k80": POLLUX_PCIE}


@dataclass(frozen=True)
class Comparison:
    source: str  # "gavel" or "pollux"
    variant: str  # which prediction
    model: str
    setting: str  # GPU type and GPU count, or placement and local batch size
    predicted: float
    measured: float

    @property
    def error(self) -> float:
        return abs(self.predicted - self.measured) / self.measured


def gavel_unconsolidated() -> list[Comparison]:
    catalog = default_catalog()
    table = catalog.table
    out = []
    for (name, gpu, k), measured in sorted(table.unconsolidated.items()):
        jt = catalog[name]
        cons = table.isolated.get((name, gpu, k))
        extra = ring_allreduce_time(jt.model_bytes, k, GAVEL_NIC)
        setting = f"{gpu} x{k}"
        if cons is not None:
            intra = ring_allreduce_time(jt.model_bytes, k, GAVEL_INTRA[gpu])
            out.append(
                Comparison(
                    "gavel", "anchored", name, setting, k / (k / cons + extra - intra), measured
                )
            )
        c = jt.compute_time[gpu]
        out.append(Comparison("gavel", "parametric", name, setting, k / (c + extra), measured))
    return out


def _pollux_rows() -> dict[str, list[tuple[str, int, float]]]:
    rows: dict[str, list[tuple[str, int, float]]] = {}
    base = resources.files("optsched.throughput") / "data"
    for model in POLLUX_MODEL_PARAMS:
        with (base / f"pollux_{model}_placements.csv").open() as fh:
            rows[model] = [
                (r["placement"], int(r["local_bsz"]), float(r["step_time"]))
                for r in csv.DictReader(fh)
            ]
    return rows


def _pollux_predict(
    model: str, rows: list[tuple[str, int, float]], nic: float, variant: str
) -> list[Comparison]:
    one = {bsz: t for placement, bsz, t in rows if placement == "1"}
    m = 4.0 * POLLUX_MODEL_PARAMS[model][0]
    out = []
    for placement, bsz, t in rows:
        if placement == "1" or bsz not in one:
            continue
        n = sum(int(ch) for ch in placement)
        bw = POLLUX_PCIE if len(placement) == 1 else min(POLLUX_PCIE, nic)
        t_pred = one[bsz] + ring_allreduce_time(m, n, bw)
        # Compare throughputs (steps/s), the model's unit.
        setting = f"{placement} bsz {bsz}"
        out.append(Comparison("pollux", variant, model, setting, 1 / t_pred, 1 / t))
    return out


def _fit_nic(models: list[str], rows: dict[str, list[tuple[str, int, float]]]) -> float:
    """The network bandwidth (GB/s) minimising mean |log error| over ``models``."""
    t1, coef, cross, meas = [], [], [], []
    for model in models:
        one = {bsz: t for placement, bsz, t in rows[model] if placement == "1"}
        m = 4.0 * POLLUX_MODEL_PARAMS[model][0]
        for placement, bsz, t in rows[model]:
            if placement == "1" or bsz not in one:
                continue
            n = sum(int(ch) for ch in placement)
            t1.append(one[bsz])
            coef.append(2.0 * (n - 1) / n * m / 1e9)
            cross.append(len(placement) > 1)
            meas.append(t)
    grid = np.geomspace(0.05, 20.0, 400)[:, None]
    bw = np.where(np.asarray(cross)[None, :], np.minimum(POLLUX_PCIE, grid), POLLUX_PCIE)
    pred = np.asarray(t1)[None, :] + np.asarray(coef)[None, :] / bw
    err = np.abs(np.log(pred / np.asarray(meas)[None, :])).mean(axis=1)
    return float(grid[int(np.argmin(err)), 0])


def pollux_placements() -> tuple[list[Comparison], dict[str, float]]:
    """Spec and held-out fitted predictions, and the fitted bandwidth per held-out model."""
    rows = _pollux_rows()
    out: list[Comparison] = []
    fitted: dict[str, float] = {}
    for model in rows:
        out += _pollux_predict(model, rows[model], POLLUX_NIC, "spec")
        others = [m for m in rows if m != model]
        fitted[model] = _fit_nic(others, rows)
        out += _pollux_predict(model, rows[model], fitted[model], "fitted")
    return out, fitted


def gavel_pairs() -> list[Comparison]:
    """Held-out predictions of every measured co-location factor."""
    out = []
    for g in GAVEL_GPU_TYPES:
        for variant, rows in (("fitted", leave_one_pair_out(g)), ("constant", constant_out(g))):
            out += [
                Comparison("gavel-pairs", variant, g, f"{a} | {b}", p, m) for a, b, p, m in rows
            ]
        for c in BLOX_CONSTANTS:
            out += [
                Comparison("gavel-pairs", f"blox-{c:g}", g, f"{a} | {b}", c, m)
                for a, b, _, m in rows
            ]
    return out


def spread_faster() -> list[dict[str, Any]]:
    """The unconsolidated entries above their consolidated ones, most first."""
    table = default_catalog().table
    rows = [
        {
            "job_type": name,
            "gpu_type": g,
            "num_gpus": k,
            "consolidated": table.isolated[(name, g, k)],
            "unconsolidated": v,
            "ratio": v / table.isolated[(name, g, k)],
        }
        for (name, g, k), v in table.unconsolidated.items()
        if v > table.isolated[(name, g, k)]
    ]
    return sorted(rows, key=lambda r: -r["ratio"])


def _stats(errors: list[float]) -> dict[str, float]:
    e = np.asarray(errors)
    return {
        "n": int(e.size),
        "mape": float(e.mean()),
        "median": float(np.median(e)),
        "p90": float(np.quantile(e, 0.9)),
    }


def report() -> dict[str, Any]:
    """Per-model and overall errors for every check and variant."""
    gavel = gavel_unconsolidated()
    pollux, fitted = pollux_placements()
    groups: dict[tuple[str, str], dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for c in gavel + pollux + gavel_pairs():
        model = c.model if c.source == "pollux" else c.model.split(" (")[0]
        groups[(c.source, c.variant)][model].append(c.error)
    summary = []
    for (source, variant), by_model in groups.items():
        for model, errs in sorted(by_model.items()):
            summary.append({"source": source, "variant": variant, "model": model, **_stats(errs)})
        allerrs = [e for errs in by_model.values() for e in errs]
        summary.append({"source": source, "variant": variant, "model": "ALL", **_stats(allerrs)})
    faster = spread_faster()
    return {
        "rows": summary,
        "spread_faster": {
            "count": len(faster),
            "of": len(default_catalog().table.unconsolidated),
            "entries": faster,
        },
        "pollux_fitted_network_GBps": fitted,
        "assumptions": {
            "gavel_network_GBps": GAVEL_NIC,
            "gavel_intra_GBps": GAVEL_INTRA,
            "pollux_pcie_GBps": POLLUX_PCIE,
            "pollux_network_spec_GBps": POLLUX_NIC,
            "gavel_gpu_types": list(GAVEL_GPU_TYPES),
        },
    }


def comparisons() -> list[dict[str, Any]]:
    """Every prediction next to its measurement (for plots and audits)."""
    gavel = gavel_unconsolidated()
    pollux, _ = pollux_placements()
    return [{**asdict(c), "error": c.error} for c in gavel + pollux + gavel_pairs()]
