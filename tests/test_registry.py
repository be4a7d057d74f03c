"""Methods by name: plug-ins as module:function and as installed entry points."""

import json
import sys
import textwrap

import pytest

from optsched.cli import main
from optsched.core import Status
from optsched.io import read_instance
from optsched.solve import solve

PLUGIN = textwrap.dedent('''
    from optsched.problems.spase import SpaseSolution, TaskPlan


    def one_by_one(instance, options):
        """Every task alone on server 0, one after another, smallest configuration."""
        t, plans = 0.0, {}
        for task in instance.tasks:
            k = min(range(len(task.configs)), key=lambda k: task.configs[k].num_gpus)
            cfg = task.configs[k]
            plans[task.id] = TaskPlan(k, tuple(range(cfg.num_gpus)), t)
            t += cfg.runtime
        return SpaseSolution(plans)
''')


def test_plugin_module_is_found_run_and_checked(tmp_path, monkeypatch, capsys, examples):
    (tmp_path / "user_rules.py").write_text(PLUGIN)
    monkeypatch.syspath_prepend(str(tmp_path))
    code = main(
        ["gap", str(examples / "saturn_fig4.json"), "-m", "user_rules:one_by_one", "--json"]
    )
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert code == 0
    # A 10 h + B 40 h + C 24 h back to back on server 0 = 74 h, against the 30 h bound
    assert lines[0]["objective"] == 74 * 3600.0 and lines[0]["feasible"] is True
    assert lines[0]["gap"] == pytest.approx(74 / 30 - 1)
    assert lines[1]["summary"]["n"] == 1


def test_entry_point_plugins(tmp_path, monkeypatch, examples):
    (tmp_path / "installed_rules.py").write_text(PLUGIN)
    monkeypatch.syspath_prepend(str(tmp_path))
    import importlib.metadata as md

    from optsched import registry

    ep = md.EntryPoint(
        name="spase:one_by_one",
        value="installed_rules:one_by_one",
        group=registry.ENTRY_POINT_GROUP,
    )
    monkeypatch.setattr(
        md, "entry_points", lambda group=None: [ep] if group == registry.ENTRY_POINT_GROUP else []
    )
    registry._entry_points.cache_clear()
    try:
        listed = {m.name: m for m in registry.methods("spase")}
        assert listed["one_by_one"].origin == "entry point"
        assert "one_by_one" not in {m.name for m in registry.methods("hopper")}
        # run by its installed name, and checked like any method: 74 h as above
        result = solve(read_instance(examples / "saturn_fig4.json"), "one_by_one")
        assert result.method == "one_by_one" and result.objective == 74 * 3600.0
        assert result.check.feasible and result.status is Status.FEASIBLE
    finally:
        sys.modules.pop("installed_rules", None)
        registry._entry_points.cache_clear()


def test_broken_entry_points_do_not_break_the_others(monkeypatch, capsys, examples):
    import importlib.metadata as md

    from optsched import registry

    eps = [
        md.EntryPoint("nosuchfam:x", "os:getcwd", registry.ENTRY_POINT_GROUP),
        md.EntryPoint("hopper:greedy", "os:getcwd", registry.ENTRY_POINT_GROUP),
        md.EntryPoint("hopper:gone", "no_such_module_xyz:f", registry.ENTRY_POINT_GROUP),
    ]
    monkeypatch.setattr(md, "entry_points", lambda group=None: eps)
    registry._entry_points.cache_clear()
    try:
        names = [m.name for m in registry.methods("hopper")]
        assert names.count("greedy") == 1 and "gone" not in names  # built-ins still listed
        inst = read_instance(examples / "cerebro_fig5.json")
        assert solve(inst, "greedy").status is Status.FEASIBLE  # the built-in wins
        with pytest.raises(Exception, match="cannot import 'no_such_module_xyz'"):
            solve(inst, "gone")
    finally:
        registry._entry_points.cache_clear()
