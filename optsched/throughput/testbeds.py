"""Fitting the testbed presets, and their held-out errors.

The presets themselves (:mod:`optsched.model.testbeds`) are numbers; this
module is where they come from. Both fits use the throughput model's rule 5
(:mod:`optsched.throughput.model`): a job of ``k`` GPUs with one-GPU step time
``c`` takes

.. math:: t = c' + \\max(0,\\ C - \\phi c'), \\qquad
          c' = c\\,(1 + d\\,(m - 1)), \\qquad
          C = \\tfrac{2(k-1)}{k}\\,\\tfrac{M}{B}\\, f_2^{[2\\ \\mathrm{servers}]} + L

and the fit minimises the squared log ratio of predicted to measured step
times (scipy's ``least_squares`` from a fixed start, so it is deterministic).

* **Gavel** (V100/P100/K80 servers): Gavel's 165 unconsolidated throughputs of
  four model families at 2, 4 and 8 GPUs, one GPU per server. Each entry is one
  placement, so only the network bandwidth ``B`` and one overlap ``phi`` per
  family are identifiable (``L = 0``, ``f2 = 1``, ``d = 0``). Held out: leave
  one entry out (the other 164 fit ``B`` and the ``phi`` of every family).
* **Pollux** (16 nodes of 4 T4 GPUs, PCIe 3.0, 50 Gb/s): 5,539 step times of
  six models over 109 placements and their local batch sizes. Fitted: ``B``,
  ``L`` and ``f2`` for the testbed, ``phi`` and ``d`` per model. Held out:
  leave one model out. The held-out model's ``phi`` and ``d`` come from its
  own one-node placements, what a user who profiled a new model on one server
  would have; none of its multi-node placements is seen. Errors are reported
  over all its multi-GPU placements and over the multi-node ones alone.

Errors are relative throughput errors ``|t / t_pred - 1|``.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

import numpy as np
from scipy.optimize import least_squares

from ..errors import InputError
from ..model.builders import pollux
from ..model.gpus import LINK_DEFAULTS, LinkKind
from ..model.testbeds import GAVEL, POLLUX, POLLUX_MODELS, Testbed
from .jobtypes import Catalog, JobType, default_catalog, gavel_family
from .model import ThroughputModel

PCIE = LINK_DEFAULTS[LinkKind.PCIE][0]


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _logit(p: float) -> float:
    p = min(max(p, 1e-6), 1 - 1e-6)
    return math.log(p / (1 - p))


def _step(
    c: np.ndarray,
    comm: np.ndarray,
    phi: np.ndarray,
    d: np.ndarray | float = 0.0,
    fullest: np.ndarray | float = 1.0,
) -> np.ndarray:
    compute = c * (1.0 + d * (fullest - 1.0))
    return compute + np.maximum(0.0, comm - phi * compute)


# ------------------------------------------------------------------- Pollux
@dataclass(frozen=True)
class PolluxRows:
    """Pollux's multi-GPU step times with the one-GPU step at the same local batch."""

    model: np.ndarray  # index into POLLUX_MODELS
    placement: tuple[str, ...]
    local_bsz: np.ndarray
    nodes: np.ndarray
    gpus: np.ndarray
    fullest: np.ndarray
    one_gpu: np.ndarray  # step time on one GPU, s
    step: np.ndarray  # measured step time, s
    grad_gb: np.ndarray  # gradient size, GB

    def __len__(self) -> int:
        return int(self.step.size)


@lru_cache(maxsize=1)
def pollux_rows() -> PolluxRows:
    base = resources.files("optsched.throughput") / "data"
    cols: dict[str, list[Any]] = {k: [] for k in PolluxRows.__dataclass_fields__}
    for i, (model, (params, _)) in enumerate(POLLUX_MODELS.items()):
        with (base / f"pollux_{model}_placements.csv").open() as fh:
            rows = [
                (r["placement"], int(r["local_bsz"]), float(r["step_time"]))
                for r in csv.DictReader(fh)
            ]
        one = {bsz: t for placement, bsz, t in rows if placement == "1"}
        for placement, bsz, t in rows:
            if placement == "1" or bsz not in one:
                continue
            per_node = [int(ch) for ch in placement]
            for key, value in (
                ("model", i),
                ("placement", placement),
                ("local_bsz", bsz),
                ("nodes", len(per_node)),
                ("gpus", sum(per_node)),
                ("fullest", max(per_node)),
                ("one_gpu", one[bsz]),
                ("step", t),
                ("grad_gb", 4.0 * params / 1e9),
            ):
                cols[key].append(value)
    arrays = {k: np.asarray(v) for k, v in cols.items() if k != "placement"}
    return PolluxRows(placement=tuple(cols["placement"]), **arrays)


def _pollux_comm(r: PolluxRows, bw: float, latency: float, two: float) -> np.ndarray:
    ring = 2.0 * (r.gpus - 1) / r.gpus * r.grad_gb
    net = np.where(r.nodes == 2, two, 1.0) * ring / min(bw, PCIE)
    return np.where(r.nodes > 1, net, ring / PCIE) + latency


def pollux_predict(r: PolluxRows, tb: Testbed) -> np.ndarray:
    """Predicted step times of every row under testbed parameters ``tb``."""
    names = list(POLLUX_MODELS)
    phi = np.array([tb.overlap[m] for m in names])[r.model]
    d = np.array([tb.contention[m] for m in names])[r.model]
    comm = _pollux_comm(r, tb.network, tb.allreduce_latency, tb.two_server_factor)
    return _step(r.one_gpu, comm, phi, d, r.fullest)


def _unpack_pollux(z: np.ndarray, per_model: bool) -> Testbed:
    names = list(POLLUX_MODELS)
    n = len(names)
    bw, latency, extra = np.exp(z[:3])
    d = np.exp(z[3 : 3 + n])
    phi = _sigmoid(z[3 + n :]) if per_model else np.repeat(_sigmoid(z[3 + n :]), n)
    return POLLUX.with_fit(
        network=float(bw),
        allreduce_latency=float(latency),
        two_server_factor=float(1.0 + extra),
        overlap={m: float(p) for m, p in zip(names, phi)},
        contention={m: float(x) for m, x in zip(names, d)},
    )


def _fit_pollux(use: np.ndarray, network: np.ndarray | None = None) -> Testbed:
    """One overlap for all models; or, given the testbed's ``network`` parameters (log
    bandwidth, log latency, log(f2 - 1)), one overlap per model with those held."""
    r = pollux_rows()
    n = len(POLLUX_MODELS)
    per_model = network is not None
    start = [math.log(0.7), math.log(1e-3), math.log(0.1)]
    free = np.concatenate([np.full(n, math.log(0.05)), np.zeros(n if per_model else 1)])

    def full(z: np.ndarray) -> np.ndarray:
        return np.concatenate([network, z]) if per_model else z

    def residual(z: np.ndarray) -> np.ndarray:
        tb = _unpack_pollux(full(z), per_model)
        return np.log(pollux_predict(r, tb)[use] / r.step[use])

    z0 = free if per_model else np.concatenate([start, free])
    return _unpack_pollux(full(least_squares(residual, z0).x), per_model)


def fit_pollux(held_out: str | None = None) -> Testbed:
    """The preset: the testbed's network and ``overlap_other`` from a fit with one
    overlap for all models, then each model's overlap and contention with the network
    held.

    With ``held_out``, the leave-one-model-out fold: the first stage alone, on the
    other models and the held-out model's one-node runs (one-node runs barely
    communicate, so they cannot tell a model's overlap; its contention they do).
    """
    r = pollux_rows()
    if held_out is not None:
        h = list(POLLUX_MODELS).index(held_out)
        return _fit_pollux((r.model != h) | (r.nodes == 1))
    every = np.ones(len(r), bool)
    shared = _fit_pollux(every)
    network = np.log([shared.network, shared.allreduce_latency, shared.two_server_factor - 1.0])
    own = _fit_pollux(every, network)
    return own.with_fit(overlap_other=next(iter(shared.overlap.values())))


def pollux_held_out() -> tuple[np.ndarray, dict[str, Testbed]]:
    """Leave-one-model-out predictions of every row, and each fold's fit."""
    r = pollux_rows()
    pred = np.empty(len(r))
    folds = {}
    for i, model in enumerate(POLLUX_MODELS):
        folds[model] = tb = fit_pollux(model)
        sel = r.model == i
        pred[sel] = pollux_predict(r, tb)[sel]
    return pred, folds


def pollux_job_types(tb: Testbed = POLLUX, models: tuple[str, ...] | None = None) -> list[JobType]:
    """Pollux's models as job types, one per local batch size measured on one GPU
    (``"bert (local batch 12)"``), with ``tb``'s overlap and contention."""
    r = pollux_rows()
    names = list(POLLUX_MODELS)
    seen: dict[str, JobType] = {}
    for i, bsz, t in zip(r.model, r.local_bsz, r.one_gpu):
        model = names[i]
        if models is not None and model not in models:
            continue
        name = f"{model} (local batch {bsz})"
        if name not in seen:
            seen[name] = JobType(
                name,
                {"t4": float(t)},
                4.0 * POLLUX_MODELS[model][0],
                tb.overlap.get(model, tb.overlap_other),
                f"Pollux measured one-GPU step; model size: {POLLUX_MODELS[model][1]}",
                contention=tb.contention.get(model, 0.0),
            )
    return list(seen.values())


def pollux_through_model(r: PolluxRows, tb: Testbed, model: str) -> np.ndarray:
    """Step times of ``model``'s rows as :class:`ThroughputModel` computes them on
    :func:`optsched.model.builders.pollux` with ``tb``'s parameters (GPU sets laid
    out node by node as the placement string reads)."""
    cluster = pollux(16, testbed=tb)
    catalog = Catalog({}, default_catalog().table).extended(pollux_job_types(tb, (model,)))
    tm = ThroughputModel(cluster, catalog)
    per = tb.gpus_per_server
    idx = list(POLLUX_MODELS).index(model)
    out = []
    for i in np.flatnonzero(r.model == idx):
        gpus = [n * per + j for n, ch in enumerate(r.placement[i]) for j in range(int(ch))]
        out.append(len(gpus) / tm.isolated(f"{model} (local batch {r.local_bsz[i]})", gpus))
    return np.asarray(out)


# -------------------------------------------------------------------- Gavel
@dataclass(frozen=True)
class GavelRows:
    """Gavel's unconsolidated throughputs (iterations/s over all workers)."""

    job_type: tuple[str, ...]
    family: tuple[str, ...]
    gpu_type: tuple[str, ...]
    gpus: np.ndarray
    one_gpu: np.ndarray  # step time on one GPU, s
    measured: np.ndarray  # throughput, iterations/s
    grad_gb: np.ndarray

    def __len__(self) -> int:
        return int(self.gpus.size)


@lru_cache(maxsize=1)
def gavel_rows() -> GavelRows:
    catalog = default_catalog()
    items = sorted(catalog.table.unconsolidated.items())
    return GavelRows(
        tuple(name for (name, _, _), _ in items),
        tuple(gavel_family(name) for (name, _, _), _ in items),
        tuple(g for (_, g, _), _ in items),
        np.array([k for (_, _, k), _ in items]),
        np.array([1.0 / catalog.table.isolated[(name, g, 1)] for (name, g, _), _ in items]),
        np.array([v for _, v in items]),
        np.array([catalog[name].model_bytes / 1e9 for (name, _, _), _ in items]),
    )


def gavel_predict(r: GavelRows, tb: Testbed) -> np.ndarray:
    """Predicted throughputs of every entry under testbed parameters ``tb``."""
    phi = np.array([tb.overlap.get(f, tb.overlap_other) for f in r.family])
    comm = 2.0 * (r.gpus - 1) / r.gpus * r.grad_gb / tb.network
    return r.gpus / _step(r.one_gpu, comm, phi)


def fit_gavel(use: np.ndarray | None = None) -> Testbed:
    """Fit on the entries ``use`` (default: all): the bandwidth and one overlap per family,
    plus the overlap of one family-blind fit for the families never measured spread."""
    r = gavel_rows()
    use = np.ones(len(r), bool) if use is None else use
    families = sorted(set(r.family))
    index = np.array([families.index(f) for f in r.family])

    def solve(per_family: bool) -> np.ndarray:
        def residual(z: np.ndarray) -> np.ndarray:
            phi = _sigmoid(z[1:])[index] if per_family else _sigmoid(z[1:])
            comm = 2.0 * (r.gpus - 1) / r.gpus * r.grad_gb / math.exp(z[0])
            return np.log((r.gpus / _step(r.one_gpu, comm, phi))[use] / r.measured[use])

        return least_squares(residual, np.zeros(1 + (len(families) if per_family else 1))).x

    z = solve(True)
    other = float(_sigmoid(solve(False)[1:])[0])
    return GAVEL.with_fit(
        network=float(math.exp(z[0])),
        overlap={f: float(p) for f, p in zip(families, _sigmoid(z[1:]))},
        overlap_other=other,
    )


def gavel_held_out() -> np.ndarray:
    """Leave-one-entry-out predictions of every unconsolidated entry."""
    r = gavel_rows()
    pred = np.empty(len(r))
    for i in range(len(r)):
        use = np.ones(len(r), bool)
        use[i] = False
        pred[i] = gavel_predict(r, fit_gavel(use))[i]
    return pred


def fit(name: str) -> Testbed:
    """The named testbed refitted from its data."""
    if name == "gavel":
        return fit_gavel()
    if name == "pollux":
        return fit_pollux()
    raise InputError(f"testbed must be gavel or pollux, got {name!r}")
