"""Helpers shared by the tests: exact back-ends by name, and the optimality assertion."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest

from optsched.core import Status
from optsched.result import Result
from optsched.solve import solve


@dataclass(frozen=True)
class Backend:
    """An exact method and the options that pick its back-end."""

    name: str
    method: str
    options: dict[str, Any] = field(default_factory=dict)


#: Every exact back-end; ``--backends all`` runs them all.
BACKENDS = {
    "cpsat": Backend("cpsat", "cpsat"),
    "cbc": Backend("cbc", "milp", {"solver": "cbc"}),
    "highs": Backend("highs", "milp", {"solver": "highs"}),
    "scip": Backend("scip", "milp", {"solver": "scip"}),
    "mathopt:highs": Backend("mathopt:highs", "milp", {"solver": "mathopt:highs"}),
}
#: What runs by default: CP-SAT and one MILP solver of each back-end library.
DEFAULT_BACKENDS = ("cpsat", "cbc", "scip")
CPSAT = BACKENDS["cpsat"]


def have_data() -> bool:
    """Whether the raw traces (``$OPTSCHED_DATA``) are here."""
    from optsched import sources
    from optsched.errors import InputError

    try:
        sources.data_dir()
        return True
    except InputError:
        return False


def run(instance: Any, backend: Backend, **more: Any) -> Result:
    """Solve with one worker and seed 0, so that runs repeat exactly."""
    return solve(
        instance, backend.method, time_limit=60, workers=1, seed=0, **backend.options, **more
    )


def assert_optimal(result: Result, value: float, rel: float = 1e-6) -> None:
    assert result.status is Status.OPTIMAL, result.message
    assert result.check is not None and result.check.feasible
    assert result.objective == pytest.approx(value, rel=rel)
    assert result.bound == pytest.approx(value, rel=rel)


def congested_stream(n: int = 60, seed: int = 3) -> Any:
    """Jobs of Gavel's measured types, gangs of 1, 2 and 4, arriving faster than a
    12-GPU cluster serves them."""
    from optsched.simulate import SimJob, Workload
    from optsched.throughput import gavel_table

    rng = np.random.default_rng(seed)
    table = gavel_table()
    types = sorted({k[0] for k in table.isolated if k[1] == "v100" and k[2] == 4})
    jobs, t = [], 0.0
    for k in range(n):
        jt, g = types[int(rng.integers(len(types)))], int(rng.choice([1, 1, 2, 4]))
        jobs.append(
            SimJob(
                f"j{k}", jt, g, float(rng.exponential(1800)) * table.isolated[(jt, "v100", g)], t
            )
        )
        t += float(rng.exponential(60))
    return Workload("congested", tuple(jobs))
