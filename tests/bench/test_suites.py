"""Generators, suites, the resumable bench, reference checks and paper tables."""

import json

import pytest
from helpers import have_data

from optsched import sources
from optsched.bench import run, summary_table
from optsched.bench.references import REFERENCE_FILE, REFERENCE_FORMAT
from optsched.cli import main
from optsched.io import read_instance, read_solution, write_instance, write_json, write_solution
from optsched.problems import family as family_of
from optsched.problems.hopper.generate import uniform_hopper
from optsched.problems.placement.generate import trace_placement
from optsched.solve import solve

needs_data = pytest.mark.skipif(not have_data(), reason="raw traces not available")

CASES = [
    ("hopper", "cerebro", {"num_configs": 8, "num_workers": 4}),
    ("hopper", "synthetic", {"num_configs": 5, "num_workers": 3}),
    ("spase", "saturn", {"num_tasks": 5, "servers": 2}),
    ("placement", "synthetic", {"num_jobs": 10}),
    ("timeslot", "synthetic", {"num_jobs": 6, "num_slots": 12}),
]
TRACE_CASES = [
    ("spase", "pollux", {"num_tasks": 5, "servers": 2}),
    ("placement", "philly", {"num_jobs": 10, "servers": 4}),
    ("placement", "helios", {"num_jobs": 10}),
    ("placement", "itp", {"num_jobs": 10}),
    ("placement", "gavel", {"num_jobs": 10}),
    ("placement", "alibaba", {"num_jobs": 10, "servers": 8}),
    ("timeslot", "philly", {"num_jobs": 6, "num_slots": 12}),
    ("timeslot", "itp", {"num_jobs": 6, "num_slots": 12}),
    ("timeslot", "helios", {"num_jobs": 6, "num_slots": 12}),
    ("timeslot", "gavel", {"num_jobs": 6, "num_slots": 12}),
]


def _check_deterministic(fam, source, kw):
    a = family_of(fam).generate(source, 7, **kw)
    b = family_of(fam).generate(source, 7, **kw)
    assert a.to_dict() == b.to_dict()
    assert a.family == fam
    other = family_of(fam).generate(source, 8, **kw)
    assert other.to_dict() != a.to_dict()
    # the JSON round trip re-validates every field and cross-reference
    from optsched.io import instance_from_dict

    assert instance_from_dict(a.to_dict()) == a


@pytest.mark.parametrize("family, source, kw", CASES, ids=[f"{f}-{s}" for f, s, _ in CASES])
def test_generators_are_deterministic_and_valid(family, source, kw):
    _check_deterministic(family, source, kw)


@needs_data
@pytest.mark.parametrize(
    "family, source, kw", TRACE_CASES, ids=[f"{f}-{s}" for f, s, _ in TRACE_CASES]
)
def test_trace_generators_are_deterministic_and_valid(family, source, kw):
    _check_deterministic(family, source, kw)


@needs_data
def test_trace_values_come_from_the_trace():
    # Philly window: GPU counts are the trace's own, in arrival order
    inst = trace_placement("philly", 10, 3, counts={"servers": 4})
    trace = [j for j in sources.philly() if j.num_gpus <= inst.cluster.capacity("p40")]
    sizes = [j.num_gpus for j in inst.jobs]
    windows = {tuple(x.num_gpus for x in trace[i : i + 10]) for i in range(len(trace) - 9)}
    assert tuple(sizes) in windows
    # Gavel's traces name job types; the generator keeps them
    gav = trace_placement("gavel", 10, 0)
    assert {j.job_type for j in gav.jobs} <= {t.job_type for t in sources.gavel_msr("6214e9", 0)}


def test_generate_cli(tmp_path, capsys):
    out = tmp_path / "h.json"
    assert (
        main(
            [
                "generate",
                "hopper",
                "--source",
                "cerebro",
                "--num-configs",
                "4",
                "--num-workers",
                "2",
                "--seed",
                "1",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    assert read_instance(out).num_configs == 4
    assert main(["generate", "spase", "--source", "nope"]) == 2
    assert "source for spase must be one of saturn, pollux" in capsys.readouterr().err
    assert main(["generate", "placement", "--source", "synthetic", "--counts", "v100"]) == 2
    out = tmp_path / "t.json"
    assert (
        main(
            [
                "generate",
                "timeslot",
                "--source",
                "synthetic",
                "--num-jobs",
                "4",
                "--num-slots",
                "8",
                "--locality",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    assert read_instance(out).locality is True
    assert (
        main(
            [
                "generate",
                "placement",
                "--source",
                "synthetic",
                "--num-jobs",
                "4",
                "--no-sharing",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    assert read_instance(out).space_sharing is False


# ------------------------------------------------------------------ suites and bench
def _make_suite(folder):
    """Three tiny hopper instances with references from cpsat (proven optimal)."""
    (folder / "solutions").mkdir(parents=True)
    entries = {}
    for s in range(3):
        inst = uniform_hopper(5, 3, s)
        write_instance(folder / f"{inst.name}.json", inst)
        r = solve(inst, "cpsat", time_limit=30)
        write_solution(folder / "solutions" / f"{inst.name}.json", r.solution, inst.name)
        entries[inst.name] = {
            "objective": r.objective,
            "bound": r.bound,
            "status": "optimal",
            "method": "cpsat",
            "solver": r.solver,
            "time": r.runtime,
            "solution": f"solutions/{inst.name}.json",
        }
    write_json(
        folder / REFERENCE_FILE, {"format": REFERENCE_FORMAT, "version": 1, "entries": entries}
    )
    return folder


def _comparable(df):
    cols = [
        "suite",
        "instance",
        "method",
        "seed",
        "status",
        "objective",
        "bound",
        "gap",
        "feasible",
    ]
    return df[cols].sort_values(["instance", "method", "seed"]).reset_index(drop=True)


def test_killed_and_resumed_bench_matches_uninterrupted(tmp_path):
    suite = str(_make_suite(tmp_path / "tiny"))
    methods, seeds = ["randomized", "greedy"], [0, 1]
    full = run([suite], methods, tmp_path / "full.jsonl", seeds=seeds, progress=False)
    assert len(full) == 3 * 2 * 2
    # a run killed after three cells, mid-way through writing the fourth row
    lines = (tmp_path / "full.jsonl").read_text().splitlines()
    (tmp_path / "killed.jsonl").write_text("\n".join(lines[:3]) + "\n" + lines[3][:20])
    resumed = run([suite], methods, tmp_path / "killed.jsonl", seeds=seeds, progress=False)
    assert _comparable(resumed).equals(_comparable(full))
    rows = (tmp_path / "killed.jsonl").read_text().splitlines()
    assert len(rows) == 12 and rows[:3] == lines[:3]  # finished cells were not re-run
    pd_full, pd_res = summary_table(full), summary_table(resumed)
    assert pd_full.drop(columns="mean_time").equals(pd_res.drop(columns="mean_time"))
    # a finished run resumes to nothing new
    again = run([suite], methods, tmp_path / "killed.jsonl", seeds=seeds, progress=False)
    assert len((tmp_path / "killed.jsonl").read_text().splitlines()) == 12
    assert len(again) == 12


def test_randomised_methods_run_many_seeds_and_get_an_interval(tmp_path):
    suite = str(_make_suite(tmp_path / "tiny"))
    df = run([suite], ["randomized", "greedy"], tmp_path / "r.jsonl", progress=False,
             random_seeds=20)  # fmt: skip
    per = df.groupby("method")["seed"].nunique()
    assert per["randomized"] == 20 and per["greedy"] == 1
    table = summary_table(df, ["family", "method"])
    rnd = table[table["method"] == "randomized"].iloc[0]
    # the common-instance gap is seed 0's; the all-runs mean is over the 20 x 3 runs
    gaps = 100 * df[df["method"] == "randomized"]["gap"].astype(float)
    assert rnd["seeds"] == 20 and rnd["mean_gap_all"] == pytest.approx(gaps.mean())
    from scipy import stats

    lo, hi = (float(x) for x in rnd["ci95_all"].split(" to "))
    half = stats.t.ppf(0.975, len(gaps) - 1) * gaps.std(ddof=1) / len(gaps) ** 0.5
    assert hi == pytest.approx(gaps.mean() + half, rel=1e-2)
    assert lo == pytest.approx(max(0.0, gaps.mean() - half), rel=1e-2, abs=1e-3)
    assert table[table["method"] == "greedy"].iloc[0]["ci95_all"] == "-"
    # without several seeds anywhere the columns are not shown
    assert "seeds" not in summary_table(df[df["seed"] == 0], ["family", "method"])


def test_a_rerun_skips_exactly_the_cells_it_holds(tmp_path):
    # A cell is keyed by everything that determines its result: another time limit,
    # another workers count, an edited instance or --force make new rows, never a
    # silent reuse of old ones; repeated cells count once.
    folder = _make_suite(tmp_path / "tiny")
    out = tmp_path / "r.jsonl"

    def lines():
        return out.read_text().splitlines()

    run([str(folder)], ["greedy"], out, time_limit=10, progress=False)
    assert len(lines()) == 3
    run([str(folder)], ["greedy"], out, time_limit=10, progress=False)
    assert len(lines()) == 3  # the same cells: skipped
    df = run([str(folder)], ["greedy"], out, time_limit=20, progress=False)
    assert len(lines()) == 6 and set(df["time_limit"]) == {20}  # another limit: new cells
    df = run([str(folder)], ["greedy"], out, time_limit=20, workers=2, progress=False)
    assert len(lines()) == 9 and set(df["workers"]) == {2}
    # an instance edited in place (same file, same name) is another cell
    target = sorted(folder.glob("uniform-*.json"))[0]
    data = json.loads(target.read_text())
    data["times"][0][0] += 1.0
    target.write_text(json.dumps(data))
    (folder / REFERENCE_FILE).unlink()  # its stored reference no longer applies
    run([str(folder)], ["greedy"], out, time_limit=20, workers=2, progress=False)
    assert len(lines()) == 10
    # --force runs every cell again; the table then counts each cell once
    df = run([str(folder)], ["greedy"], out, time_limit=20, workers=2, progress=False, force=True)
    assert len(lines()) == 13 and len(df) == 3
    from optsched.bench import load_results

    rows = load_results(out)
    assert len(rows) == 3 + 3 + 3 + 1  # one per distinct cell: 10 keys over 13 lines
    assert len({r.cell_key for r in rows}) == len(rows)


def test_copies_of_a_suite_are_cells_of_their_own(tmp_path):
    # the same instances in two suites are two suites' cells: neither hides the other
    import shutil

    a = _make_suite(tmp_path / "a")
    b = tmp_path / "b"
    shutil.copytree(a, b)
    df = run([str(a), str(b)], ["greedy"], tmp_path / "r.jsonl", progress=False)
    assert len(df) == 6 and set(df["suite"]) == {"a", "b"}


def test_a_plugin_edited_between_runs_is_run_again(tmp_path, monkeypatch):
    folder = _make_suite(tmp_path / "tiny")
    plug = tmp_path / "plug"
    plug.mkdir()
    (plug / "myheur.py").write_text(
        "from optsched.problems.hopper.heuristics import greedy_method as solve\n"
    )
    monkeypatch.syspath_prepend(str(plug))
    out = tmp_path / "r.jsonl"
    run([str(folder)], ["myheur:solve"], out, progress=False)
    run([str(folder)], ["myheur:solve"], out, progress=False)
    assert len(out.read_text().splitlines()) == 3
    (plug / "myheur.py").write_text(
        "# tuned\nfrom optsched.problems.hopper.heuristics import greedy_method as solve\n"
    )
    run([str(folder)], ["myheur:solve"], out, progress=False)
    assert len(out.read_text().splitlines()) == 6


def test_one_bench_run_per_results_file(tmp_path, capsys):
    # a second run on a file another run holds is refused (it would duplicate cells)
    import fcntl

    from optsched.cli import main

    folder = _make_suite(tmp_path / "tiny")
    out = tmp_path / "r.jsonl"
    with open(out, "a") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        code = main(["bench", str(folder), "-m", "greedy", "-o", str(out)])
    err = capsys.readouterr().err
    assert code == 2 and "in use by another bench run" in err and err.count("\n") == 1
    assert out.read_text() == ""


def test_bench_gaps_use_the_stored_bound(tmp_path):
    suite = str(_make_suite(tmp_path / "tiny"))
    df = run([suite], ["randomized"], tmp_path / "r.jsonl", progress=False)
    ref = json.loads((tmp_path / "tiny" / REFERENCE_FILE).read_text())["entries"]
    for row in df.itertuples():
        assert row.reference == pytest.approx(ref[row.instance]["bound"])
        assert row.reference_kind == "best bound"
        assert row.gap == pytest.approx(row.objective / row.reference - 1)
        assert row.feasible


@pytest.mark.parametrize(
    "tamper, message",
    [
        (
            lambda sol: (
                sol["starts"][0].__setitem__(0, 0.0) or sol["starts"][1].__setitem__(0, 0.0)
            ),
            "is infeasible",
        ),
        (None, "but its solution scores"),
    ],
)
def test_tampered_reference_is_caught(tmp_path, capsys, tamper, message):
    folder = _make_suite(tmp_path / "tiny")
    name = sorted((folder / "solutions").glob("*.json"))[0]
    if tamper is not None:
        data = json.loads(name.read_text())
        tamper(data)
        name.write_text(json.dumps(data))
    else:
        ref = json.loads((folder / REFERENCE_FILE).read_text())
        first = sorted(ref["entries"])[0]
        ref["entries"][first]["objective"] *= 0.9  # a better number than its solution
        (folder / REFERENCE_FILE).write_text(json.dumps(ref))
    code = main(["bench", str(folder), "--methods", "greedy", "--out", str(tmp_path / "r.jsonl")])
    err = capsys.readouterr().err
    assert code == 2 and message in err and err.count("\n") == 1
    assert not (tmp_path / "r.jsonl").exists()  # nothing half-written


def test_table_markdown_and_latex(tmp_path, capsys):
    suite = str(_make_suite(tmp_path / "tiny"))
    run([suite], ["randomized", "greedy"], tmp_path / "r.jsonl", progress=False)
    assert main(["table", str(tmp_path / "r.jsonl"), "--by", "family,method"]) == 0
    md = capsys.readouterr().out
    assert md.startswith("| family | method | runs | solved | unsolved | proven optimal |")
    assert "| hopper | greedy |" in md and "| hopper | Cerebro randomized |" in md
    out = tmp_path / "paper" / "gaps.tex"
    assert (
        main(
            [
                "table",
                str(tmp_path / "r.jsonl"),
                "--format",
                "latex",
                "--out",
                str(out),
                "--caption",
                "Gaps",
                "--label",
                "tab:gaps",
            ]
        )
        == 0
    )
    tex = out.read_text()
    for token in (r"\toprule", r"\midrule", r"\bottomrule", r"\label{tab:gaps}", "greedy"):
        assert token in tex
    assert main(["table", str(tmp_path / "r.jsonl"), "--by", "colour"]) == 2


def test_shipped_suites_have_checked_references():
    from optsched.bench import ROOT, check_references, suite_files

    suites = sorted(p for p in (ROOT / "instances").iterdir() if (p / REFERENCE_FILE).exists())
    assert {p.name for p in suites} >= {
        "hopper-small",
        "spase-small",
        "placement-small",
        "timeslot-small",
    }
    for folder in suites:
        assert check_references(folder) == len(suite_files(folder))
        assert (folder / "README.md").exists()
        ref = json.loads((folder / REFERENCE_FILE).read_text())
        if folder.name.endswith("-small"):  # small suites are all proven optimal
            assert all(e["status"] == "optimal" for e in ref["entries"].values())
        for e in ref["entries"].values():
            assert read_solution(folder / e["solution"]).family == folder.name.split("-")[0]


def test_gap_and_validate_take_suite_folders_and_references(tmp_path, capsys):
    folder = _make_suite(tmp_path / "tiny")
    assert main(["gap", str(folder), "-m", "greedy", "--json"]) == 0
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert len(lines) == 4 and lines[-1]["summary"]["n"] == 3
    assert all(row["reference_kind"].startswith("stored bound") for row in lines[:3])
    # a shell glob over a suite also matches reference.json: it is skipped, not an error
    files = [str(p) for p in sorted(folder.glob("*.json"))]
    assert main(["gap", *files, "-m", "greedy"]) == 0
    capsys.readouterr()
    assert main(["validate", str(folder / REFERENCE_FILE)]) == 0
    assert "3 stored solution(s) re-checked" in capsys.readouterr().out
