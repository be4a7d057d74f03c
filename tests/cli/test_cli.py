import json
import subprocess
import sys

import pytest

from optsched.cli import main


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_validate_and_info(capsys, examples):
    code, out, _ = run(
        capsys,
        "validate",
        str(examples / "placement_small.json"),
        str(examples / "cerebro_fig5.optimal.solution.json"),
    )
    assert code == 0 and "valid placement instance" in out and "valid hopper solution" in out
    code, out, _ = run(
        capsys,
        "info",
        "--json",
        str(examples / "placement_small.json"),
        str(examples / "saturn_fig4.json"),
    )
    lines = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and [d["family"] for d in lines] == ["placement", "spase"]
    assert lines[0]["cluster"]["gpus_by_type"] == {"v100": 8, "k80": 4}
    assert lines[0]["jobs_by_num_gpus"] == {"1": 2, "2": 1, "4": 2}
    code, out, _ = run(capsys, "info", str(examples / "timeslot_small.json"))
    assert code == 0 and "total_work: 58000" in out


def test_check_exit_codes(capsys, examples, tmp_path):
    code, out, _ = run(
        capsys,
        "check",
        str(examples / "saturn_fig4.json"),
        str(examples / "saturn_fig4.optimal.solution.json"),
    )
    assert code == 0 and "feasible; objective 108000" in out
    bad = json.loads((examples / "saturn_fig4.optimal.solution.json").read_text())
    bad["plans"]["A"]["gpus"] = [0, 1]  # on top of C
    (tmp_path / "bad.json").write_text(json.dumps(bad))
    code, out, _ = run(
        capsys, "check", "--json", str(examples / "saturn_fig4.json"), str(tmp_path / "bad.json")
    )
    report = json.loads(out)
    assert code == 3 and not report["feasible"]
    assert report["violations_by_kind"]["gpu_overlap"]["size"] == 2 * 10 * 3600


def test_family_mismatch_is_bad_input(capsys, examples):
    code, _, err = run(
        capsys,
        "check",
        str(examples / "saturn_fig4.json"),
        str(examples / "cerebro_fig5.optimal.solution.json"),
    )
    assert code == 2 and err.count("\n") == 1 and "does not match" in err


@pytest.mark.parametrize(
    "content, fragment",
    [
        ("{not json", "malformed JSON"),
        (
            '{"format": "optsched-instance", "version": 9, "family": "hopper"}',
            "unsupported version 9",
        ),
        ("[1, 2]", "expected a JSON object"),
    ],
)
def test_bad_input_one_line_exit_2(capsys, tmp_path, content, fragment):
    p = tmp_path / "x.json"
    p.write_text(content)
    code, out, err = run(capsys, "validate", str(p))
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and fragment in err and "Traceback" not in err


def test_argument_errors_exit_2(capsys):
    assert main(["comm", "--workers", "0"]) == 2
    assert "must be >= 1, got 0" in capsys.readouterr().err


def test_throughput_commands(capsys):
    code, out, _ = run(capsys, "throughput", "types", "--json")
    rows = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and len(rows) == 26
    code, out, _ = run(capsys, "throughput", "validate", "--json")
    rep = json.loads(out)
    assert code == 0 and any(r["model"] == "ALL" for r in rep["rows"])


def test_module_entry_point_no_traceback(tmp_path):
    p = tmp_path / "x.json"
    p.write_text(
        '{"format": "optsched-instance", "version": 1, "family": "hopper", '
        '"configs": ["a"], "workers": ["w"], "times": [[-1]]}'
    )
    proc = subprocess.run(
        [sys.executable, "-m", "optsched", "validate", str(p)], capture_output=True, text=True
    )
    assert proc.returncode == 2
    assert proc.stderr.strip() == (
        f"optsched: error: {p}: config 'a': times['w'] must be >= 0, got -1"
    )


def test_version_and_help_show_defaults(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.startswith("optsched ")
    assert main(["gap", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "(default: 60.0)" in text and "(default: bound)" in text
    assert main(["generate", "timeslot", "--help"]) == 0
    assert "--locality, --no-locality" in capsys.readouterr().out


def test_generate_flags_come_from_the_family(capsys):
    # a flag of another family is unknown here: a usage error
    assert main(["generate", "hopper", "--source", "cerebro", "--num-jobs", "4"]) == 2
    assert "unrecognized arguments: --num-jobs" in capsys.readouterr().err
    # a flag of this family that the chosen source does not take is refused by name
    assert main(["generate", "hopper", "--source", "synthetic", "--homogeneous"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--homogeneous does not apply to source 'synthetic'" in err
    assert (
        main(
            [
                "generate",
                "hopper",
                "--source",
                "cerebro",
                "--homogeneous",
                "--num-configs",
                "2",
                "--num-workers",
                "2",
            ]
        )
        == 0
    )
    assert '"cerebro-hom-2x2-s0"' in capsys.readouterr().out


def test_solver_params_from_flags_and_file(capsys, examples, tmp_path):
    fig5 = str(examples / "cerebro_fig5.json")
    conf = tmp_path / "cpsat.toml"
    conf.write_text('linearization_level = 2\nsearch_branching = "FIXED_SEARCH"\n')
    code = main(
        ["solve", fig5, "--params-file", str(conf), "--params", "linearization_level=0", "--json"]
    )
    out = json.loads(capsys.readouterr().out)
    assert code == 0 and out["status"] == "optimal"
    # the flag wins over the file; both are recorded verbatim
    assert out["parameters"]["params"] == {
        "linearization_level": 0,
        "search_branching": "FIXED_SEARCH",
    }
    assert main(["solve", fig5, "--params", "no_such_field=1"]) == 2
    assert "CP-SAT parameter no_such_field=1" in capsys.readouterr().err
    conf.write_text("[nested]\na = 1\n")
    assert main(["solve", fig5, "--params-file", str(conf)]) == 2
    assert "parameter 'nested' must be a number, string or bool" in capsys.readouterr().err


def test_refusals_are_rows_in_gap_and_exit_2_in_solve(capsys, examples):
    from optsched.bench import ROOT

    big = ROOT / "instances" / "hopper-large" / "cerebro-het-1024x32-s1.json"
    assert main(["solve", str(big), "-m", "milp"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "binaries" in err and "use cpsat" in err
    assert main(["gap", str(big), "-m", "milp", "--json"]) == 0
    row, summary = (json.loads(x) for x in capsys.readouterr().out.splitlines())
    assert row["status"] == "unsupported" and row["gap"] is None and "binaries" in row["message"]
    assert summary["summary"] == {
        "n": 1,
        "no_gap": 1,
        "mean": None,
        "geomean": None,
        "max": None,
        "within_0.1%": 0,
    }


def test_every_command_has_help_with_defaults():
    import argparse

    from optsched.cli import build_parser

    def walk(parser):
        yield parser
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for sub in action.choices.values():
                    yield from walk(sub)

    parsers = list(walk(build_parser()))
    assert len(parsers) > 15
    for p in parsers:
        text = p.format_help()  # renders: no stray % in a help string
        for action in p._actions:
            if action.help and action.default not in (None, False, argparse.SUPPRESS):
                assert "(default:" in text, (p.prog, action.dest)


def test_log_goes_to_stderr_and_json_stays_clean(capfd, examples):
    fig5 = str(examples / "cerebro_fig5.json")
    for solver in ("cbc", "scip"):
        assert main(["solve", fig5, "-m", "milp", "--solver", solver, "--log", "--json"]) == 0
        out, err = capfd.readouterr()
        assert json.loads(out)["status"] == "optimal"  # one clean JSON line
        assert err.strip(), solver  # the solver's log


def test_validate_a_reference_file_by_its_name(capsys, tmp_path):
    from optsched.bench import ROOT

    ref = ROOT / "instances" / "hopper-small" / "reference.json"
    assert main(["validate", str(ref)]) == 0
    assert "valid reference file; 7 stored solution(s) re-checked" in capsys.readouterr().out
    copy = tmp_path / "copy.json"
    copy.write_text(ref.read_text())
    assert main(["validate", str(copy)]) == 2
    assert "a reference file must be named reference.json" in capsys.readouterr().err
