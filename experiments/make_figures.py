"""The throughput model's validation figure: the cell and filter of
``experiments/throughput.toml``. Run it with ``optsched paper --only throughput``.

The gap CDFs and Cerebro's Figure 6 plot are outputs of ``gaps.toml`` and
``baselines.toml``.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from optsched.throughput.validate import comparisons


def validation_cell(seed: int) -> list[dict[str, Any]]:
    """Every prediction of the throughput model beside its measurement."""
    return [dict(r) for r in comparisons()]


def throughputs_only(df: pd.DataFrame) -> pd.DataFrame:
    """The throughput comparisons (the co-location checks compare interference
    factors, on another scale)."""
    return df[df["source"] != "gavel-pairs"]
