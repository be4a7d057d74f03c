"""Hopper instances: cells of Cerebro's Figure 6 scheduler study and synthetic open
shops. Deterministic in the seed.
"""

from __future__ import annotations

import numpy as np

from ...errors import InputError, check_positive_int
from .instance import HopperInstance

#: Compute cost (MFLOPs per example) of 35 popular CNNs, Cerebro tech report
#: Table 7 (from albanie/convnet-burden); "2G" entries are 2000 MFLOPs as printed.
CEREBRO_CNN_MFLOPS: dict[str, float] = {
    "AlexNet": 727,
    "CaffeNet": 724,
    "SqueezeNet1-0": 837,
    "SqueezeNet1-1": 360,
    "VGG-f": 727,
    "VGG-m": 2000,
    "VGG-s": 3000,
    "VGG-m-2048": 2000,
    "VGG-m-1024": 2000,
    "VGG-m-128": 2000,
    "VGG-vd-16-atrous": 16000,
    "VGG-vd-16": 16000,
    "VGG-vd-19": 20000,
    "GoogleNet": 2000,
    "ResNet18": 2000,
    "ResNet34": 4000,
    "ResNet50": 4000,
    "ResNet101": 8000,
    "ResNet152": 11000,
    "ResNext-50-32x4d": 4000,
    "ResNext-101-32x4d": 8000,
    "ResNext-101-64x4d": 16000,
    "Inception-V3": 6000,
    "SE-ResNet-50": 4000,
    "SE-ResNet-101": 8000,
    "SE-ResNet-152": 11000,
    "SE-ResNeXt-50-32x4d": 4000,
    "SE-ResNeXt-101-32x4d": 8000,
    "SENet": 21000,
    "SE-BN-Inception": 2000,
    "DenseNet121": 3000,
    "DenseNet161": 8000,
    "DenseNet169": 3000,
    "DenseNet201": 4000,
    "MobileNet": 579,
}
#: Worker compute capacities (TFLOPS) Cerebro samples: Titan Xp, K80, GTX 1080, P100.
CEREBRO_WORKER_TFLOPS = (12.1, 5.6, 11.3, 18.7)


#: The most units (configs x workers) a generated open shop has: about 20 MB of JSON.
MAX_UNITS = 1_000_000


def _size(num_configs: int, num_workers: int) -> None:
    check_positive_int(num_configs, "num_configs", "hopper")
    check_positive_int(num_workers, "num_workers", "hopper")
    if num_configs * num_workers > MAX_UNITS:
        raise InputError(
            f"hopper: --num-configs x --num-workers must be at most {MAX_UNITS:,}, got "
            f"{num_configs} x {num_workers} = {num_configs * num_workers:,}"
        )


def cerebro_fig6(
    num_configs: int, num_workers: int, heterogeneous: bool, seed: int
) -> HopperInstance:
    """One cell of Cerebro's Figure 6 grid.

    ``T_ij = cost_i / capacity_j``. Homogeneous: every cost and capacity is 1,
    so ``T_ij = 1``. Heterogeneous: costs sampled with replacement from
    :data:`CEREBRO_CNN_MFLOPS` (in GFLOPs), capacities from
    :data:`CEREBRO_WORKER_TFLOPS`; times are then in milliseconds per example
    (GFLOPs / TFLOPS).
    """
    _size(num_configs, num_workers)
    rng = np.random.default_rng(seed)
    if heterogeneous:
        names = sorted(CEREBRO_CNN_MFLOPS)
        picks = rng.choice(len(names), size=num_configs, replace=True)
        cost = np.array([CEREBRO_CNN_MFLOPS[names[i]] / 1000.0 for i in picks])
        cap = rng.choice(np.array(CEREBRO_WORKER_TFLOPS), size=num_workers, replace=True)
        configs = tuple(f"{names[i]}#{k}" for k, i in enumerate(picks))
    else:
        cost, cap = np.ones(num_configs), np.ones(num_workers)
        configs = tuple(f"c{k}" for k in range(num_configs))
    times = tuple(tuple(float(c / w) for w in cap) for c in cost)
    kind = "het" if heterogeneous else "hom"
    return HopperInstance(
        f"cerebro-{kind}-{num_configs}x{num_workers}-s{seed}",
        configs,
        tuple(f"w{j}" for j in range(num_workers)),
        times,
    )


def uniform_hopper(
    num_configs: int, num_workers: int, seed: int, low: float = 1.0, high: float = 10.0
) -> HopperInstance:
    """Unit times uniform in ``[low, high]`` (synthetic open shop)."""
    _size(num_configs, num_workers)
    rng = np.random.default_rng(seed)
    times = rng.uniform(low, high, size=(num_configs, num_workers)).round(3)
    return HopperInstance.from_matrix(
        f"uniform-{num_configs}x{num_workers}-s{seed}", times.tolist()
    )


def dense_open_shop(
    num_configs: int, perturbation: float, seed: int, *, total: int = 1000, layers: int = 3
) -> HopperInstance:
    """A dense open shop: every config's and every worker's load is ``total``, then
    each time is perturbed by up to ``perturbation`` (a fraction: 0, 0.1, 0.2).

    The construction of Gueret and Prins (1999) and Brucker et al. (1997) in
    outline: an ``n x n`` matrix whose rows and columns all sum to ``total``.
    Here it is ``layers`` random Latin squares (a cyclic square with rows,
    columns and symbols shuffled), each symbol weighted by one part of a random
    composition of ``total`` into ``layers x n`` positive parts. Every row and
    column then holds every part once. Perturbed times are
    ``max(1, round(t (1 + u)))`` with ``u`` uniform in ``[-perturbation,
    perturbation]``. Such shops are hard because the optimum lies just above the
    common load, which is the only bound the solver starts with.
    """
    _size(num_configs, num_configs)
    check_positive_int(total, "total", "dense open shop")
    n = num_configs
    if total < layers * n:
        raise InputError(f"dense open shop: total must be at least {layers * n}, got {total}")
    if not 0 <= perturbation < 1:
        raise InputError(f"dense open shop: perturbation must be in [0, 1), got {perturbation!r}")
    rng = np.random.default_rng(seed)
    cuts = np.sort(rng.choice(np.arange(1, total), size=layers * n - 1, replace=False))
    parts = np.diff(np.concatenate([[0], cuts, [total]])).reshape(layers, n)
    times = np.zeros((n, n), dtype=np.int64)
    base = (np.arange(n)[:, None] + np.arange(n)[None, :]) % n
    for layer in range(layers):
        square = base[rng.permutation(n)][:, rng.permutation(n)]
        times += parts[layer][rng.permutation(n)][square]
    if perturbation:
        noise = rng.uniform(-perturbation, perturbation, size=times.shape)
        times = np.maximum(1, np.rint(times * (1 + noise))).astype(np.int64)
    name = f"dense-{n}x{n}-q{round(100 * perturbation)}-s{seed}"
    return HopperInstance.from_matrix(name, times.astype(float).tolist())


# ---------------------------------------------------------------- sources
def cerebro(
    seed: int, *, num_configs: int = 16, num_workers: int = 8, homogeneous: bool = False
) -> HopperInstance:
    return cerebro_fig6(num_configs, num_workers, not homogeneous, seed)


def synthetic(seed: int, *, num_configs: int = 16, num_workers: int = 8) -> HopperInstance:
    return uniform_hopper(num_configs, num_workers, seed)


def dense(seed: int, *, num_configs: int = 8, perturbation: int = 0) -> HopperInstance:
    return dense_open_shop(num_configs, perturbation / 100, seed)
