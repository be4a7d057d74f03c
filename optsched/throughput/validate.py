"""How well the parametric throughput model predicts measurements it never saw.

Three held-out checks, all on throughput (iterations per second):

* **Gavel, unconsolidated.** For every multi-GPU job type measured spread over
  servers, predict that value from the other measurements:

  - ``anchored`` (rule 3 of :mod:`optsched.throughput.model`, spec sheets):
    from the measured consolidated throughput plus the ring all-reduce time a
    10 GbE hop adds, without overlap;
  - ``parametric`` (rule 5, spec sheets): from the one-GPU compute time alone;
  - ``testbed``: rule 5 with Gavel's testbed preset refitted without the entry
    (leave one entry out; :mod:`optsched.throughput.testbeds`).

* **Pollux, placements.** For every multi-GPU placement Pollux measured on its
  T4 testbed (4 GPUs per node), predict the step time from the measured
  one-GPU step time at the same local batch size:

  - ``spec``: plus the ring all-reduce time over the placement's bottleneck
    bandwidth (PCIe 3.0 inside a node, the 50 Gb/s network across nodes);
  - ``fitted``: the same with one effective network bandwidth fitted on the
    other five models (leave one model out);
  - ``testbed``: :class:`~optsched.throughput.model.ThroughputModel` itself on
    the Pollux preset cluster, with the preset refitted without the model
    (leave one model out; the model's own one-node runs give its contention).

* **Gavel, co-located pairs.** For every measured single-GPU pair, predict
  each job's interference factor from the other pairs of its GPU type (leave
  one unordered pair out): ``fitted`` is the pressure-sensitivity model of
  :mod:`optsched.throughput.interference`, ``constant`` the mean factor of the
  other pairs, ``blox-0.6`` ... Blox's constant factors (they use no data).

The error of one prediction is ``|predicted - measured| / measured``.

Also reported: the testbed presets with their in-sample errors, and the
unconsolidated entries Gavel measured faster than the consolidated ones (the
evidence behind the throughput model's ``spread`` option).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from ..model.gpus import LINK_DEFAULTS, NIC_GBPS, LinkKind
from ..model.testbeds import POLLUX_MODELS, TESTBEDS
from . import testbeds
from .comm import ring_allreduce_time
from .interference import BLOX_CONSTANTS, constant_out, leave_one_pair_out
from .jobtypes import default_catalog
from .measured import GAVEL_GPU_TYPES

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
    rows = testbeds.gavel_rows()
    for i, pred in enumerate(testbeds.gavel_held_out()):
        setting = f"{rows.gpu_type[i]} x{rows.gpus[i]}"
        out.append(
            Comparison("gavel", "testbed", rows.job_type[i], setting, pred, rows.measured[i])
        )
    return out


def _pollux_ring(r: testbeds.PolluxRows, nic: np.ndarray | float) -> np.ndarray:
    """Spec-style step times: one-GPU step plus a ring over the bottleneck (PCIe in a
    node, ``nic`` across nodes); ``nic`` may be a column of candidates."""
    bw = np.where(r.nodes > 1, np.minimum(POLLUX_PCIE, nic), POLLUX_PCIE)
    return r.one_gpu + 2.0 * (r.gpus - 1) / r.gpus * r.grad_gb / bw


def _fit_nic(r: testbeds.PolluxRows, use: np.ndarray) -> float:
    """The network bandwidth (GB/s) minimising mean |log error| over rows ``use``."""
    grid = np.geomspace(0.05, 20.0, 400)[:, None]
    err = np.abs(np.log(_pollux_ring(r, grid) / r.step)[:, use]).mean(axis=1)
    return float(grid[int(np.argmin(err)), 0])


def pollux_placements() -> tuple[list[Comparison], dict[str, float]]:
    """Spec, fitted and testbed predictions (the last two held out), and the one
    fitted bandwidth per held-out model."""
    r = testbeds.pollux_rows()
    out: list[Comparison] = []
    fitted: dict[str, float] = {}
    spec = _pollux_ring(r, POLLUX_NIC)
    for i, model in enumerate(POLLUX_MODELS):
        rows = np.flatnonzero(r.model == i)
        fitted[model] = _fit_nic(r, r.model != i)
        one_bw = _pollux_ring(r, fitted[model])
        steps = testbeds.pollux_through_model(r, testbeds.fit_pollux(model), model)
        for variant, pred in (("spec", spec[rows]), ("fitted", one_bw[rows]), ("testbed", steps)):
            out += [
                Comparison(
                    "pollux",
                    variant,
                    model,
                    f"{r.placement[j]} bsz {r.local_bsz[j]}",
                    1 / t_pred,
                    1 / r.step[j],
                )
                for j, t_pred in zip(rows, pred)
            ]
    return out, fitted


def testbed_fits() -> dict[str, dict[str, Any]]:
    """Each preset as shipped, its refit and the refit's in-sample error."""
    g, p = testbeds.gavel_rows(), testbeds.pollux_rows()
    gavel, pollux = testbeds.fit("gavel"), testbeds.fit("pollux")
    in_sample = {
        "gavel": _stats(list(np.abs(testbeds.gavel_predict(g, gavel) / g.measured - 1))),
        "pollux": _stats(list(np.abs(p.step / testbeds.pollux_predict(p, pollux) - 1))),
    }
    return {
        name: {
            "preset": TESTBEDS[name].to_dict(),
            "refit": fit.to_dict(),
            "in_sample": in_sample[name],
        }
        for name, fit in (("gavel", gavel), ("pollux", pollux))
    }


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
        "testbeds": testbed_fits(),
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
