"""Bad files and paths: each is exit 2 with one line naming the file, nothing hangs,
and nothing is left behind."""

import json
import os
import stat

import pytest
from conftest import EXAMPLES
from helpers import have_data

from optsched.cli import main
from optsched.io import write_text

NEEDS_DATA = pytest.mark.skipif(not have_data(), reason="needs the raw traces ($OPTSCHED_DATA)")


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def one_line(err, *fragments):
    assert err.count("\n") == 1 and "Traceback" not in err, err
    for fragment in fragments:
        assert fragment in err, err


def test_a_fifo_is_refused_without_blocking(capsys, tmp_path):
    fifo = tmp_path / "pipe.json"
    os.mkfifo(fifo)
    code, out, err = run(capsys, "validate", str(fifo))  # would block if it were opened
    assert code == 2 and out == ""
    one_line(err, "pipe.json", "not a regular file")


@pytest.mark.parametrize(
    "make, fragment",
    [
        (lambda d: "/dev/zero", "not a regular file"),
        (lambda d: str(d), "a directory"),
        (lambda d: str(d / ("x" * 300 + ".json")), "cannot read"),
        (lambda d: str(d / "nowhere.json"), "no such file"),
        (lambda d: str(d / "a.json" / "b.json"), ""),
    ],
    ids=["device", "directory", "name-too-long", "missing", "under-a-file"],
)
def test_paths_that_are_not_readable_files(capsys, tmp_path, make, fragment):
    (tmp_path / "a.json").write_text("{}")
    code, out, err = run(capsys, "validate", make(tmp_path))
    assert code == 2 and out == ""
    one_line(err, fragment)


def test_a_symlink_loop_and_a_newline_in_the_name(capsys, tmp_path):
    loop = tmp_path / "loop.json"
    loop.symlink_to(loop)
    code, _, err = run(capsys, "validate", str(loop))
    assert code == 2
    one_line(err, "loop.json", "cannot read")
    odd = tmp_path / "two\nlines.json"
    code, _, err = run(capsys, "validate", str(odd))
    assert code == 2
    one_line(err, "two\\nlines.json", "no such file")  # the name stays on one line


@pytest.mark.parametrize(
    "text, fragment",
    [
        ('{"format": "optsched-instance", "format": "x"}', "duplicate key 'format'"),
        ('{"format": NaN}', "NaN is not a JSON number"),
        ('{"format": Infinity}', "Infinity is not a JSON number"),
        ("[" * 100_000 + "]" * 100_000, "nested too deep"),
        ("\x00\x01binary", "malformed JSON"),
    ],
    ids=["duplicate-key", "nan", "infinity", "deep", "binary"],
)
def test_json_is_parsed_strictly(capsys, tmp_path, text, fragment):
    p = tmp_path / "x.json"
    p.write_text(text)
    code, out, err = run(capsys, "validate", str(p))
    assert code == 2 and out == ""
    one_line(err, "x.json", fragment)


def test_a_file_that_is_not_utf8(capsys, tmp_path):
    p = tmp_path / "latin.json"
    p.write_bytes(b'{"name": "caf\xe9"}')
    code, _, err = run(capsys, "validate", str(p))
    assert code == 2
    one_line(err, "latin.json", "cannot read")


@pytest.mark.parametrize(
    "target, fragment",
    [
        (lambda d: d, "a directory"),
        (lambda d: d / "file.txt" / "out.json", "cannot write"),
        (lambda d: "/proc/optsched-out.json", "cannot write"),
    ],
    ids=["directory", "parent-is-a-file", "proc"],
)
@pytest.mark.parametrize("command", ["solve", "bench"])
def test_outputs_that_cannot_be_files(capsys, tmp_path, examples, target, fragment, command):
    (tmp_path / "file.txt").write_text("x")
    before = sorted(p.name for p in tmp_path.iterdir())
    out_path = target(tmp_path)
    if command == "solve":
        argv = ["solve", str(examples / "placement_small.json"), "-m", "greedy"]
    else:
        argv = ["bench", str(examples.parent / "hopper-small"), "-m", "greedy"]
    code, out, err = run(capsys, *argv, "-o", str(out_path))
    assert code == 2
    one_line(err, fragment)
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # nothing left behind


def test_outputs_get_the_umask_mode(tmp_path):
    old = os.umask(0o022)
    try:
        write_text(tmp_path / "a.json", "{}\n")
        os.umask(0o077)
        write_text(tmp_path / "b.json", "{}\n")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "a.json").stat().st_mode) == 0o644
    assert stat.S_IMODE((tmp_path / "b.json").stat().st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.json", "b.json"]


@pytest.mark.parametrize(
    "content",
    [
        "not json at all",
        "[1, 2]",
        json.dumps({"format": "optsched-reference", "version": 1, "entries": [1]}),
    ],  # fmt: skip
    ids=["corrupt", "a-list", "entries-a-list"],
)
def test_a_bad_reference_file_is_bad_input(capsys, tmp_path, examples, content):
    suite = tmp_path / "suite"
    suite.mkdir()
    (suite / "placement_small.json").write_text((examples / "placement_small.json").read_text())
    (suite / "reference.json").write_text(content)
    code, _, err = run(capsys, "gap", str(suite), "--method", "greedy")
    assert code == 2
    one_line(err, "reference.json")


@pytest.mark.parametrize(
    "line", ["3", '{"suite": "s"}', '["a", "b"]'], ids=["scalar", "missing-keys", "list"]
)
def test_a_results_file_with_a_foreign_line_is_bad_input(capsys, tmp_path, examples, line):
    suite = tmp_path / "suite"
    suite.mkdir()
    (suite / "placement_small.json").write_text((examples / "placement_small.json").read_text())
    results = tmp_path / "bench.jsonl"
    results.write_text(line + "\n")
    code, _, err = run(capsys, "bench", str(suite), "-m", "greedy", "-o", str(results))
    assert code == 2
    one_line(err, "bench.jsonl", "line 1")


PLACEMENT = "instances/examples/placement_small.json"


@pytest.mark.parametrize(
    "argv, flag, fragment",
    [
        (["solve", PLACEMENT, "-m", "milp", "--seed", "-1"], "--seed", "[0, 2147483647]"),
        (["solve", PLACEMENT, "-m", "cpsat", "--seed", str(2**40)], "--seed", "[0, 2147483647]"),
        (["solve", PLACEMENT, "--workers", str(10**9)], "--workers", "[1, 1024]"),
        (["solve", PLACEMENT, "-m", "milp", "--time-limit", "1e10"], "--time-limit", "(0, 1"),
        (["solve", PLACEMENT, "-m", "milp", "--time-limit", "1e308"], "--time-limit", "(0, 1"),
        (["solve", PLACEMENT, "--time-limit", "nan"], "--time-limit", "finite"),
        (["solve", PLACEMENT, "--time-limit", "-3"], "--time-limit", "> 0"),
        (["bench", "x", "--workers", "0"], "--workers", ">= 1"),
        (["generate", "placement", "--seed", "-5"], "--seed", "[0, 2147483647]"),
        (["simulate", "gavel-generated:600:5", "--seed", "-1"], "--seed", "[0, 2147483647]"),
        (
            ["simulate", "gavel-generated:600:5", "--round-time-limit", "1e300"],
            "--round-time-limit",
            "(0, 1",
        ),
        (["allocate", "--gavel-input", "16", "--seed", "-2"], "--seed", "[0, 2147483647]"),
    ],
)
def test_numeric_flags_are_checked_when_parsed(capsys, argv, flag, fragment):
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == ""
    one_line(err, flag, fragment)


def test_bench_seeds_out_of_range(capsys, tmp_path):
    code, _, err = run(capsys, "bench", str(tmp_path), "--seeds", "0,-1", "-o", str(tmp_path / "r"))
    assert code == 2
    one_line(err, "--seeds", "[0, 2147483647]")
    assert not (tmp_path / "r").exists()


# ------------------------------------------------------------------ plug-ins
PLUGINS = {
    "broken_syntax": "def f(:\n",
    "empty_module": "",
    "exits_on_import": "import sys\nsys.exit(0)\n",
    "exits_when_run": "import sys\n\ndef f(instance, options):\n    sys.exit(0)\n",
    "raises_when_run": "def f(instance, options):\n    raise ValueError('plug-in bug')\n",
    "policy_raises": "def p(view):\n    raise KeyError('oops')\n",
    "policy_exits": "import sys\n\ndef p(view):\n    sys.exit(3)\n",
    "policy_list": "def p(view):\n    return [1, 2]\n",
}


@pytest.fixture
def plugins(tmp_path, monkeypatch):
    for name, text in PLUGINS.items():
        (tmp_path / f"{name}.py").write_text(text)
    monkeypatch.syspath_prepend(str(tmp_path))
    return tmp_path


@pytest.mark.parametrize(
    "target, fragment",
    [
        ("no_such_module_here:f", "cannot import 'no_such_module_here'"),
        ("broken_syntax:f", "cannot load 'broken_syntax:f'"),
        ("empty_module:f", "'empty_module' has no 'f'"),
        ("exits_on_import:f", "called sys.exit(0) while loading"),
        (".relative:f", "is a relative module name"),
    ],
)
def test_plugin_methods_that_do_not_load_are_bad_input(capsys, plugins, examples, target, fragment):
    code, out, err = run(capsys, "solve", str(examples / "placement_small.json"), "-m", target)
    assert code == 2 and out == ""
    one_line(err, fragment)


@pytest.mark.parametrize(
    "target, fragment",
    [
        ("exits_when_run:f", "called sys.exit(0)"),
        ("raises_when_run:f", "ValueError: plug-in bug"),
    ],
)
def test_a_plugin_method_that_fails_is_a_row_not_an_exit(
    capsys, plugins, examples, target, fragment
):
    code, out, _ = run(
        capsys, "solve", str(examples / "placement_small.json"), "-m", target, "--json"
    )
    row = json.loads(out.splitlines()[0])
    assert code == 1 and row["status"] == "error" and fragment in row["message"]


def test_a_plugin_traceback_is_kept_under_debug(capsys, plugins, examples, monkeypatch):
    monkeypatch.setenv("OPTSCHED_DEBUG", "1")
    small = str(examples / "placement_small.json")
    code, _, err = run(capsys, "solve", small, "-m", "raises_when_run:f")
    assert code == 1 and "Traceback" in err and "ValueError: plug-in bug" in err
    code, _, err = run(capsys, "solve", small, "-m", "broken_syntax:f")
    assert code == 2 and "Traceback" in err and "SyntaxError" in err
    monkeypatch.delenv("OPTSCHED_DEBUG")
    code, _, err = run(capsys, "solve", small, "-m", "raises_when_run:f")
    assert "Traceback" not in err


@pytest.mark.parametrize(
    "target, fragment",
    [
        ("policy_raises:p", "policy 'policy_raises:p' failed at t=0: KeyError"),
        ("policy_exits:p", "failed at t=0: SystemExit: 3"),
        ("policy_list:p", "returned a list, not a mapping of job ids"),
    ],
)
def test_plugin_policies_that_fail_are_bad_input(capsys, plugins, tmp_path, target, fragment):
    # a trace of its own (Gavel's 10-column format): three ResNet-18 jobs
    r18 = "ResNet-18 (batch size 64)"
    trace = tmp_path / "three.trace"
    trace.write_text(
        "".join(f"{r18}\tpython3 main.py\tcifar\t--num_steps\t1\t5000\t1\t1\t-1\t{k * 60}\n"
                for k in range(3))
    )  # fmt: skip
    code, out, err = run(
        capsys, "simulate", str(trace), "--policy", target, "-o", str(tmp_path / "o")
    )
    assert code == 2
    one_line(err, fragment)
    assert not (tmp_path / "o").exists()


def test_progress_shows_as_plain_lines_off_a_terminal(capsys, tmp_path, examples):
    # stderr is captured here (not a TTY): one plain line per cell, no carriage returns
    suite = tmp_path / "suite"
    suite.mkdir()
    (suite / "placement_small.json").write_text((examples / "placement_small.json").read_text())
    code, _, err = run(capsys, "bench", str(suite), "-m", "greedy", "-o", str(tmp_path / "r"))
    assert code == 0
    assert "\r" not in err
    assert "[1/1] placement_small greedy\n" in err


# ------------------------------------------------------------- fields of instances
def _edit(examples, tmp_path, name, change):
    data = json.loads((examples / name).read_text())
    change(data)
    path = tmp_path / "edited.json"
    path.write_text(json.dumps(data))
    return str(path)


def _set(*path_and_value):
    *path, value = path_and_value

    def change(data):
        cur = data
        for p in path[:-1]:
            cur = cur[p]
        cur[path[-1]] = value

    return change


@pytest.mark.parametrize(
    "name, change, fragment",
    [
        ("placement_small.json", _set("cluster", "servers", 0, "link", ["nvlink"]), "link"),
        ("placement_small.json", _set("cluster", "servers", 0, "link", {"k": 1}), "link"),
        ("placement_small.json", _set("jobs", 0, "weight", 1e308), "jobs[0].weight"),
        ("placement_small.json", _set("jobs", 0, "weight", -1e12), "jobs[0].weight"),
        (
            "placement_small.json",
            _set("cluster", "servers", 0, "link_bandwidth", 1e300),
            "cluster.servers[0].link_bandwidth",
        ),
        ("timeslot_small.json", _set("jobs", 0, "work", 1e308), "jobs[0].work"),
        ("timeslot_small.json", _set("slot_seconds", 1e200), "slot_seconds"),
        ("cerebro_fig5.json", _set("times", 0, 0, 1e308), "times[0][0]"),
        ("saturn_fig4.json", _set("tasks", 0, "configs", 0, "runtime", 1e308), "runtime"),
    ],
    ids=[
        "link-a-list", "link-an-object", "weight-1e308", "weight-huge-negative",
        "bandwidth-1e300", "work-1e308", "slot-1e200", "hopper-time-1e308", "spase-runtime-1e308",
    ],
)  # fmt: skip
@pytest.mark.parametrize("command", ["validate", "solve"])
def test_fields_of_the_wrong_type_or_size_are_refused(
    capsys, tmp_path, examples, name, change, fragment, command
):
    # A huge but finite number would make the exact models answer wrongly (a MILP
    # called the instance infeasible; CP-SAT overflowed): refused, naming the field.
    path = _edit(examples, tmp_path, name, change)
    code, out, err = run(capsys, command, path, *(["-m", "greedy"] if command == "solve" else []))
    assert code == 2 and out == ""
    one_line(err, "edited.json", fragment)


def test_the_largest_magnitude_is_still_solved_exactly(capsys, tmp_path, examples):
    # at the limit (1e9) the exact models still agree with each other
    path = _edit(examples, tmp_path, "placement_small.json", _set("jobs", 0, "weight", 1e9))
    objectives = []
    for method in ("milp", "cpsat"):
        code, out, _ = run(capsys, "solve", path, "-m", method, "--json", "--workers", "1")
        assert code == 0
        got = json.loads(out)
        assert got["status"] == "optimal"
        objectives.append(got["objective"])
    assert objectives[0] == pytest.approx(objectives[1], rel=1e-9)


# ------------------------------------------------- solutions that belong elsewhere
def test_a_solution_carries_its_instances_fingerprint(capsys, tmp_path, examples):
    inst = examples / "placement_small.json"
    out = tmp_path / "sol.json"
    code, _, _ = run(capsys, "solve", str(inst), "-m", "greedy", "-o", str(out))
    assert code == 0
    stamp = json.loads(out.read_text())["instance_sha256"]
    assert stamp.startswith("sha256:") and len(stamp) == 71
    assert run(capsys, "check", str(inst), str(out))[0] == 0
    # the same shape with one number changed is another instance: exit 2
    other = _edit(examples, tmp_path, "placement_small.json", _set("jobs", 0, "weight", 2.5))
    code, out_, err = run(capsys, "check", other, str(out))
    assert code == 2 and out_ == ""
    one_line(err, "made for another instance")
    # and so is a warm start
    code, _, err = run(capsys, "solve", other, "-m", "cpsat", "--warm-start", str(out))
    assert code == 2
    one_line(err, "made for another instance")


def test_a_solution_that_names_another_instance_is_refused(capsys, tmp_path, examples):
    renamed = _edit(examples, tmp_path, "placement_small.json", _set("name", "another"))
    sol = json.loads((examples / "placement_small.solution.json").read_text())
    del sol["instance_sha256"]  # unstamped (written by hand): its name is checked
    path = tmp_path / "sol.json"
    path.write_text(json.dumps(sol))
    code, _, err = run(capsys, "check", renamed, str(path))
    assert code == 2
    one_line(err, "'placement_small'", "'another'")


@pytest.mark.parametrize(
    "stamp", [5, "sha256:" + "0" * 64, "md5:abc"], ids=["not-a-string", "wrong", "foreign"]
)
def test_a_bad_fingerprint_is_bad_input(capsys, tmp_path, examples, stamp):
    sol = json.loads((examples / "placement_small.solution.json").read_text())
    sol["instance_sha256"] = stamp
    path = tmp_path / "sol.json"
    path.write_text(json.dumps(sol))
    code, _, err = run(capsys, "check", str(examples / "placement_small.json"), str(path))
    assert code == 2
    one_line(err, "instance_sha256")


# ---------------------------------------------------------------- generators' sizes
@pytest.mark.parametrize(
    "argv, fragment",
    [
        (["placement", "--source", "philly", "--servers", "100000"], "--servers must be in [1,"),
        (["placement", "--source", "philly", "--servers", "1000"], "philly source"),
        pytest.param(["placement", "--source", "alibaba", "--servers", "100000"],
                     "alibaba source", marks=NEEDS_DATA),
        pytest.param(["spase", "--source", "pollux", "--num-tasks", "100000"],
                     "pollux source", marks=NEEDS_DATA),
        (["placement", "--num-jobs", "100001"], "[1, 100000]"),
        (["timeslot", "--num-slots", str(10**6)], "[1, 100000]"),
        (["hopper", "--source", "synthetic", "--num-configs", "100000", "--num-workers", "100"],
         "at most 1,000,000"),
        (["hopper", "--source", "cerebro", "--num-configs", "2000", "--num-workers", "2000"],
         "at most 1,000,000"),
        (["placement", "--objective", "nope"], "--objective"),
        (["placement", "--counts", "v100:x"], "--counts"),
    ],
    ids=[
        "philly-servers-huge", "philly-servers-over", "alibaba-nodes", "pollux-tasks",
        "jobs-over-max", "slots-over-max", "hopper-units", "cerebro-units", "objective",
        "counts",
    ],
)  # fmt: skip
def test_generators_refuse_sizes_their_source_cannot_give(capsys, tmp_path, argv, fragment):
    out = tmp_path / "g.json"
    code, stdout, err = run(capsys, "generate", *argv, "-o", str(out))
    assert code == 2 and stdout == "" and not out.exists()
    one_line(err, fragment)


@pytest.mark.parametrize("size", ["1..2GB", "GB", "1e", "0GB", "1e999GB", "-1GB", "1.2.3"])
def test_comm_sizes_are_parsed_strictly(capsys, size):
    code, out, err = run(capsys, "comm", f"--model-size={size}")
    assert code == 2 and out == ""
    one_line(err, "model-size", repr(size))


def test_allocate_refuses_a_gavel_input_beyond_the_size_limit(capsys):
    code, _, err = run(capsys, "allocate", "--policy", "max_min_fairness", "--gavel-input", "10**9")
    assert code == 2
    code, _, err = run(
        capsys, "allocate", "--policy", "max_min_fairness", "--gavel-input", str(10**9)
    )
    assert code == 2
    one_line(err, "--gavel-input", "[1, 100000]")


# --------------------------------------------- every field given the wrong type
FIELDS = {
    "placement_small.json": [
        ("name",), ("objective",), ("space_sharing",), ("cluster",), ("cluster", "racks"),
        ("cluster", "servers", 0, "num_gpus"), ("cluster", "servers", 0, "gpu_type"),
        ("cluster", "racks", 0, "uplink_bandwidth"), ("jobs",), ("jobs", 0, "job_type"),
        ("jobs", 0, "num_gpus"), ("jobs", 0, "weight"), ("jobs", 0, "id"),
    ],
    "timeslot_small.json": [
        ("num_slots",), ("slot_seconds",), ("restart_overhead",), ("objective",),
        ("jobs", 0, "work"), ("jobs", 0, "release"), ("jobs", 0, "id"), ("jobs",),
    ],
    "cerebro_fig5.json": [
        ("times",), ("times", 0), ("times", 0, 0), ("configs",), ("workers",), ("configs", 0),
    ],
    "saturn_fig4.json": [
        ("tasks",), ("tasks", 0, "id"), ("tasks", 0, "configs"),
        ("tasks", 0, "configs", 0, "runtime"), ("tasks", 0, "configs", 0, "num_gpus"),
        ("cluster",),
    ],
}  # fmt: skip
WRONG = {"list": [], "object": {}, "string": "x", "null": None, "bool": True, "negative": -3}


def _wrong_typed():
    for name, paths in FIELDS.items():
        base = json.loads((EXAMPLES / name).read_text())
        for path in paths:
            cur = base
            for p in path:
                cur = cur[p]
            for kind, value in WRONG.items():
                if (kind == "string" and isinstance(cur, str)) or (
                    kind == "bool" and isinstance(cur, bool)
                ):
                    continue  # the field's own type: not bad input
                yield pytest.param(
                    name, path, value, id=f"{name[:-5]}-{'.'.join(map(str, path))}-{kind}"
                )


@pytest.mark.parametrize("name, path, value", list(_wrong_typed()))
def test_every_field_of_the_wrong_type_is_one_line_exit_2(capsys, tmp_path, name, path, value):
    data = json.loads((EXAMPLES / name).read_text())
    cur = data
    for p in path[:-1]:
        cur = cur[p]
    cur[path[-1]] = value
    target = tmp_path / "wrong.json"
    target.write_text(json.dumps(data))
    code, out, err = run(capsys, "validate", str(target))
    assert code == 2 and out == ""
    one_line(err, "wrong.json")


@pytest.mark.parametrize("cut", ["rows", "columns"])
@pytest.mark.parametrize("method", ["cpsat", "milp"])
def test_a_warm_start_of_another_shape_is_bad_input(capsys, tmp_path, examples, cut, method):
    # it may be infeasible (the method repairs it), but not shaped for another instance
    sol = json.loads((examples / "cerebro_fig5.optimal.solution.json").read_text())
    sol["starts"] = sol["starts"][:2] if cut == "rows" else [r[:1] for r in sol["starts"]]
    del sol["instance_sha256"]
    warm = tmp_path / "warm.json"
    warm.write_text(json.dumps(sol))
    inst = str(examples / "cerebro_fig5.json")
    code, out, err = run(capsys, "solve", inst, "-m", method, "--warm-start", str(warm))
    assert code == 2 and out == ""
    one_line(err, "warm_start does not fit", "5 x 3")


def test_huge_open_shops_finish_or_refuse(capsys, tmp_path):
    # 100,000 configs x 8 workers: the greedy schedules it (its heaps keep it near
    # linear; the scan it replaced took minutes), CP-SAT and the MILP refuse, naming
    # the method and what to use. The clock here only guards against a hang.
    import time

    out = tmp_path / "big.json"
    assert run(capsys, "generate", "hopper", "--source", "cerebro", "--num-configs", "100000",
               "--num-workers", "8", "-o", str(out))[0] == 0  # fmt: skip
    for method in ("cpsat", "milp"):
        code, _, err = run(capsys, "solve", str(out), "-m", method)
        assert code == 2
        one_line(err, f"{method}:", "use ")
    start = time.perf_counter()
    code, stdout, _ = run(capsys, "solve", str(out), "-m", "greedy", "--json")
    assert code == 0 and json.loads(stdout)["status"] in ("optimal", "feasible")
    assert time.perf_counter() - start < 120


def test_results_files_that_are_fifos_are_refused_without_blocking(capsys, tmp_path, examples):
    fifo = tmp_path / "r.jsonl"
    os.mkfifo(fifo)
    code, _, err = run(capsys, "bench", str(examples.parent / "hopper-small"), "-m", "greedy",
                       "-o", str(fifo))  # fmt: skip
    assert code == 2
    one_line(err, "not a regular file")
    code, _, err = run(capsys, "table", str(fifo))
    assert code == 2
    one_line(err, "not a regular file")


@pytest.mark.parametrize("edit", ["huge-start", "missing-task"])
@pytest.mark.parametrize("method", ["cpsat", "milp"])
def test_spase_warm_starts_that_cannot_be_started_from(capsys, tmp_path, examples, edit, method):
    # a start at 1e20 made milp call a feasible instance infeasible; a missing task was
    # a KeyError in both models
    sol = json.loads((examples / "saturn_fig4.optimal.solution.json").read_text())
    del sol["instance_sha256"]
    first = next(iter(sol["plans"]))
    if edit == "huge-start":
        sol["plans"][first]["start"] = 1e20
    else:
        del sol["plans"][first]
    warm = tmp_path / "warm.json"
    warm.write_text(json.dumps(sol))
    code, out, err = run(capsys, "solve", str(examples / "saturn_fig4.json"), "-m", method,
                         "--warm-start", str(warm))  # fmt: skip
    assert code == 2 and out == ""
    one_line(err, "start" if edit == "huge-start" else "missing_task")
