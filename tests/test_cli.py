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
