"""The Family records: every declared method and generator loads, runs and is deterministic."""

import pytest
from helpers import have_data

from optsched.io import instance_from_dict
from optsched.problems import FAMILIES
from optsched.registry import methods

#: Small sizes for every option a source may take, so that each runs in well under a second.
SMALL = {
    "num_jobs": 6,
    "num_slots": 12,
    "num_configs": 4,
    "num_workers": 3,
    "num_tasks": 3,
    "servers": 2,
}
CASES = [(f, s) for f in FAMILIES.values() for s in f.sources]


def test_every_declared_method_loads():
    for m in methods():
        assert callable(m.fn), (m.family, m.name)
    for fam in FAMILIES.values():
        assert {"cpsat", "milp"} <= {m.name for m in fam.methods}, fam.name


def test_every_option_is_taken_by_some_source():
    for fam in FAMILIES.values():
        used = {o for s in fam.sources for o in s.options}
        assert used == {o.name for o in fam.options}, fam.name


@pytest.mark.parametrize("fam, src", CASES, ids=[f"{f.name}-{s.name}" for f, s in CASES])
def test_every_source_is_deterministic_and_valid(fam, src):
    if src.name not in ("synthetic", "cerebro", "saturn") and not have_data():
        pytest.skip("raw traces not available")
    kw = {k: v for k, v in SMALL.items() if k in src.options}
    a = fam.generate(src.name, 7, **kw)
    assert a.family == fam.name and isinstance(a, fam.instance_type)
    assert fam.generate(src.name, 7, **kw).to_dict() == a.to_dict()
    assert instance_from_dict(a.to_dict()) == a  # the round trip re-validates everything
