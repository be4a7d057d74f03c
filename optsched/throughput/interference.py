"""Co-location interference where Gavel did not measure it: a fitted model.

Gavel measured 1,881 ordered pairs of single-GPU jobs sharing one GPU (each job's
co-located throughput over its throughput alone: the factor ``f(a | b, g)`` on
``a`` next to partner ``b`` on GPU type ``g``). It measured no multi-GPU pair,
and 147 single-GPU pairs are recorded as ``[0, 0]``: they did not fit.

The model (**pressure and sensitivity**, per GPU type)::

    ln f(a | b, g) = -(s[a, g] + p[b, g])

``s[a, g]``: how much job type ``a`` suffers from any partner; ``p[b, g]``: how
much pressure ``b`` puts on any partner. It is linear in ``ln f``, so its least
squares fit is exact and unique up to one constant moved between ``s`` and ``p``
(the minimum-norm solution is taken). Predictions are capped at 1: in Gavel's
table no job runs faster next to a partner.

Why this form: held out one unordered pair at a time (both of its factors),
it predicts the pair with 6.9% (K80), 7.9% (P100) and 24.1% (V100) mean
relative error, against 18-48% for one constant per GPU type and 21-76% for
Blox's constants 0.6-0.9 (``optsched throughput validate`` recomputes all of
these). Bilinear forms ``exp(-s_a p_b)`` and ``1 / (1 + s_a p_b)`` are within 0.6
points of it on every type but need a nonlinear fit; a victim-only factor is much
worse (14-38%).
V100's larger error comes from a few pairs that slow each other to 0.1-0.3.

How :class:`~optsched.throughput.model.ThroughputModel` uses it (its default,
``unmeasured_interference="fitted"``), for a pair of ``k``-GPU jobs:

1. the pair measured at ``k``: the measurement;
2. the pair recorded as not fitting on one GPU: it may not share (each of its
   ``k`` GPUs would hold one worker of each job, as the one GPU did);
3. ``k > 1`` and the pair measured on one GPU: that 1-GPU factor (each GPU
   holds one worker of each job; an assumption, as no multi-GPU pair was
   measured, so it has no held-out error);
4. otherwise the fitted ``f(a | b, g)``; a job type without a fitted parameter
   on ``g`` gets the mean one.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

import numpy as np

from ..model.gpus import gpu_type as gpu_spec
from .measured import GAVEL_GPU_TYPES, MeasuredTable, gavel_table

#: Blox's constant co-location factors (its range), compared in validation.
BLOX_CONSTANTS = (0.6, 0.75, 0.9)


def measured_factors(table: MeasuredTable, gpu_type: str) -> dict[tuple[str, str], float]:
    """``(a, b) -> f(a | b)``: the measured single-GPU co-location factors on ``gpu_type``."""
    return {
        (a, b): pair[0] / table.isolated[(a, g, 1)]
        for (a, b, g, k), pair in table.colocated.items()
        if g == gpu_type and k == 1
    }


@dataclass(frozen=True)
class PairFit:
    """Sensitivity ``s`` and pressure ``p`` of each job type on one GPU type."""

    gpu_type: str
    sensitivity: dict[str, float]
    pressure: dict[str, float]

    def factor(self, job_type: str, partner: str) -> float:
        """The predicted factor on ``job_type`` next to ``partner`` (in (0, 1])."""
        s = self.sensitivity.get(job_type, _mean(self.sensitivity))
        p = self.pressure.get(partner, _mean(self.pressure))
        return min(1.0, math.exp(-(s + p)))


def _mean(values: dict[str, float]) -> float:
    return sum(values.values()) / len(values) if values else 0.0


def fit_pairs(gpu_type: str, factors: dict[tuple[str, str], float]) -> PairFit:
    """The least squares fit of ``ln f = -(s_a + p_b)`` to ``factors``."""
    if not factors:
        return PairFit(gpu_type, {}, {})
    victims = sorted({a for a, _ in factors})
    partners = sorted({b for _, b in factors})
    vi = {a: i for i, a in enumerate(victims)}
    pi = {b: len(victims) + i for i, b in enumerate(partners)}
    X = np.zeros((len(factors), len(victims) + len(partners)))
    y = np.empty(len(factors))
    for r, ((a, b), f) in enumerate(factors.items()):
        X[r, vi[a]] = X[r, pi[b]] = 1.0
        y[r] = -math.log(f)
    w = np.linalg.lstsq(X, y, rcond=None)[0]
    return PairFit(
        gpu_type,
        {a: float(w[i]) for a, i in vi.items()},
        {b: float(w[i]) for b, i in pi.items()},
    )


@cache
def fitted(gpu_type: str) -> PairFit:
    """The model fitted on all of Gavel's measured pairs of ``gpu_type``. A GPU type
    Gavel did not measure takes the fit of the measured type nearest in peak FP32
    TFLOPS (as compute times do, :meth:`JobType.compute_on`), or, if its TFLOPS are
    unknown, each parameter's mean over the measured types."""
    if gpu_type in GAVEL_GPU_TYPES:
        return fit_pairs(gpu_type, measured_factors(gavel_table(), gpu_type))
    target = gpu_spec(gpu_type).tflops_fp32
    if not math.isnan(target):
        near = min(GAVEL_GPU_TYPES, key=lambda g: abs(math.log(gpu_spec(g).tflops_fp32 / target)))
        return fitted(near)
    fits = [fitted(g) for g in GAVEL_GPU_TYPES]

    def mean(of: list[dict[str, float]]) -> dict[str, float]:
        names = sorted({n for d in of for n in d})
        return {n: float(np.mean([d[n] for d in of if n in d])) for n in names}

    return PairFit(gpu_type, mean([f.sensitivity for f in fits]), mean([f.pressure for f in fits]))


def leave_one_pair_out(
    gpu_type: str, table: MeasuredTable | None = None
) -> list[tuple[str, str, float, float]]:
    """``(a, b, predicted, measured)`` for every measured factor, each predicted by the
    model fitted without its unordered pair (both of the pair's factors held out)."""

    def fitted_without(rest: dict[tuple[str, str], float]) -> Callable[[str, str], float]:
        return fit_pairs(gpu_type, rest).factor

    return _held_out(gpu_type, table, fitted_without)


def constant_out(
    gpu_type: str, table: MeasuredTable | None = None
) -> list[tuple[str, str, float, float]]:
    """The same held-out predictions from one constant per GPU type (the mean factor
    of the other pairs)."""

    def mean_of(rest: dict[tuple[str, str], float]) -> Callable[[str, str], float]:
        c = sum(rest.values()) / len(rest)
        return lambda a, b: c

    return _held_out(gpu_type, table, mean_of)


def _held_out(
    gpu_type: str,
    table: MeasuredTable | None,
    predictor: Callable[[dict[tuple[str, str], float]], Callable[[str, str], float]],
) -> list[tuple[str, str, float, float]]:
    """Each unordered measured pair held out in turn: ``predictor(the other factors)``
    predicts both of its factors."""
    factors = measured_factors(table or gavel_table(), gpu_type)
    out = []
    for pair in sorted({tuple(sorted(ab)) for ab in factors}):
        held = {ab for ab in (pair, pair[::-1]) if ab in factors}
        predict = predictor({ab: f for ab, f in factors.items() if ab not in held})
        out += [(a, b, predict(a, b), factors[(a, b)]) for a, b in sorted(held)]
    return out
