from __future__ import annotations

from pathlib import Path

import pytest
from helpers import BACKENDS, DEFAULT_BACKENDS

from optsched.model import gavel, homogeneous

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "instances" / "examples"


@pytest.fixture
def examples() -> Path:
    return EXAMPLES


@pytest.fixture
def small_gavel():
    """8 V100 in two 4-GPU servers (one rack) and 4 K80 in one server (another rack)."""
    return gavel({"v100": 8, "k80": 4}, gpus_per_server=4)


@pytest.fixture
def two_racks():
    """2 racks x 2 servers x 4 V100; 100 Gb NICs, uplinks oversubscribed 4:1."""
    return homogeneous(2, 2, 4, "v100", oversubscription=4.0)


def pytest_addoption(parser):
    parser.addoption(
        "--backends",
        default=",".join(DEFAULT_BACKENDS),
        help="exact back-ends for tests taking a `backend`: comma-separated names of "
        f"{', '.join(BACKENDS)}, or 'all' (default: %(default)s)",
    )


def pytest_generate_tests(metafunc):
    if "backend" not in metafunc.fixturenames:
        return
    text = metafunc.config.getoption("--backends")
    names = list(BACKENDS) if text == "all" else [n.strip() for n in text.split(",") if n]
    unknown = [n for n in names if n not in BACKENDS]
    if unknown:
        raise pytest.UsageError(
            f"--backends: unknown back-end {unknown[0]!r} (known: {', '.join(BACKENDS)})"
        )
    metafunc.parametrize("backend", [BACKENDS[n] for n in names], ids=names)
