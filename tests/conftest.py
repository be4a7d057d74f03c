from __future__ import annotations

from pathlib import Path

import pytest

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
