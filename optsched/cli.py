"""The ``optsched`` command line.

Conventions: every reporting command takes ``--json`` and then prints one JSON
object (JSON lines for several files). Exit codes: 0 success, 1 internal
error, 2 bad input (one line on stderr naming the field and value), 3 a
checked solution violates constraints.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

from .errors import InputError

EXIT_OK, EXIT_INTERNAL, EXIT_INPUT, EXIT_INFEASIBLE = 0, 1, 2, 3


def _emit(obj: dict[str, Any]) -> None:
    print(json.dumps(obj, allow_nan=False, default=str))


def _fmt(x: Any) -> str:
    if isinstance(x, float):
        if math.isnan(x):
            return "-"
        return f"{x:.6g}"
    return str(x)


# ---------------------------------------------------------------- commands
def cmd_validate(args: argparse.Namespace) -> int:
    from .io import _load_json, instance_from_dict, solution_from_dict
    from .problems.base import SOLUTION_FORMAT

    if args.schema:
        from .io import dumps, schema

        sys.stdout.write(dumps(schema()))
        return EXIT_OK
    if not args.files:
        raise InputError("validate: give files to validate, or --schema")
    for path in args.files:
        data = _load_json(path)
        if isinstance(data, dict) and data.get("format") == "optsched-reference":
            from pathlib import Path

            from .bench import check_references

            n = check_references(Path(path).parent)
            if args.json:
                _emit({"file": str(path), "valid": True, "kind": "reference", "checked": n})
            else:
                print(f"{path}: valid reference file; {n} stored solution(s) re-checked")
            continue
        try:
            is_solution = isinstance(data, dict) and data.get("format") == SOLUTION_FORMAT
            obj = solution_from_dict(data) if is_solution else instance_from_dict(data)
        except InputError as exc:
            raise InputError(f"{path}: {exc}") from None
        kind = "solution" if is_solution else "instance"
        if args.json:
            _emit({"file": str(path), "valid": True, "kind": kind, "family": obj.family})
        else:
            print(f"{path}: valid {obj.family} {kind}")
    return EXIT_OK


def cmd_info(args: argparse.Namespace) -> int:
    from .io import read_instance

    for path in args.files:
        inst = read_instance(path)
        info: dict[str, Any] = {
            "file": str(path),
            "family": inst.family,
            "name": inst.name,
            "sense": inst.sense.value,
        }
        if hasattr(inst, "cluster"):
            info["cluster"] = inst.cluster.summary()
        info.update(inst.summary())
        if args.json:
            _emit(info)
            continue
        print(f"{path}: {inst.family} instance {inst.name!r} ({inst.sense.value}imise)")
        for key, value in info.items():
            if key in ("file", "family", "name", "sense"):
                continue
            if isinstance(value, dict):
                print(f"  {key}:")
                for k, v in value.items():
                    if isinstance(v, dict):
                        inner = ", ".join(f"{a}: {_fmt(b)}" for a, b in v.items())
                        print(f"    {k}: {inner}")
                    else:
                        print(f"    {k}: {_fmt(v)}")
            else:
                print(f"  {key}: {_fmt(value)}")
    return EXIT_OK


def cmd_check(args: argparse.Namespace) -> int:
    from .io import read_instance, read_solution
    from .problems import check

    inst = read_instance(args.instance)
    sol = read_solution(args.solution)
    report = check(inst, sol)
    if args.json:
        _emit({"instance": str(args.instance), "solution": str(args.solution), **report.to_dict()})
    else:
        verdict = "feasible" if report.feasible else "INFEASIBLE"
        print(
            f"{args.solution}: {verdict}; objective {_fmt(report.objective)} "
            f"({inst.sense.value}imise)"
        )
        for kind, (n, size) in report.by_kind().items():
            print(f"  {kind}: {n} violation(s), total size {_fmt(size)}")
        for v in report.violations[: args.max_violations]:
            print(f"    {v.kind} {_fmt(v.size)} at {v.where}")
        hidden = len(report.violations) - args.max_violations
        if hidden > 0:
            print(f"    ... {hidden} more")
    return EXIT_OK if report.feasible else EXIT_INFEASIBLE


def cmd_comm(args: argparse.Namespace) -> int:
    from .throughput.comm import cerebro_volumes, format_bytes, parse_bytes

    rows = cerebro_volumes(
        args.epochs,
        args.configs,
        args.workers,
        parse_bytes(args.model_size, "model-size"),
        parse_bytes(args.dataset_size, "dataset-size"),
        args.iters_per_epoch,
    )
    params = {
        "epochs": args.epochs,
        "configs": args.configs,
        "workers": args.workers,
        "model_bytes": parse_bytes(args.model_size, "model-size"),
        "dataset_bytes": parse_bytes(args.dataset_size, "dataset-size"),
        "iters_per_epoch": args.iters_per_epoch,
    }
    if args.json:
        _emit(
            {
                "parameters": params,
                "rows": [
                    {
                        "approach": r.approach,
                        "formula": r.formula,
                        "bytes": r.bytes,
                        "human": format_bytes(r.bytes),
                    }
                    for r in rows
                ],
            }
        )
        return EXIT_OK
    print("Communication volume for model selection (Cerebro Table 2, errata version)")
    print("  " + ", ".join(f"{k}={v:g}" for k, v in params.items()))
    width = max(len(r.approach) for r in rows)
    fwidth = max(len(r.formula) for r in rows)
    for r in rows:
        print(f"  {r.approach:<{width}}  {r.formula:<{fwidth}}  {format_bytes(r.bytes):>10}")
    return EXIT_OK


def cmd_throughput_validate(args: argparse.Namespace) -> int:
    from .throughput.validate import report

    rep = report()
    if args.json:
        _emit(rep)
        return EXIT_OK
    print("Throughput model: predicted vs measured (held out), relative error of throughput")
    print(
        f"  {'source':<7} {'variant':<11} {'model':<12} {'n':>5} {'mean':>7} {'median':>7} "
        f"{'p90':>7}"
    )
    for row in rep["rows"]:
        print(
            f"  {row['source']:<7} {row['variant']:<11} {row['model']:<12} {row['n']:>5} "
            f"{row['mape']:>7.1%} {row['median']:>7.1%} {row['p90']:>7.1%}"
        )
    fitted = rep["pollux_fitted_network_GBps"]
    print(
        "  Pollux fitted network bandwidth (GB/s, fitted without the model itself): "
        + ", ".join(f"{k} {v:.2f}" for k, v in fitted.items())
    )
    a = rep["assumptions"]
    print(
        f"  assumptions: Gavel network {a['gavel_network_GBps']} GB/s; Pollux PCIe "
        f"{a['pollux_pcie_GBps']} GB/s, network spec {a['pollux_network_spec_GBps']} GB/s"
    )
    return EXIT_OK


def cmd_throughput_types(args: argparse.Namespace) -> int:
    from .throughput.jobtypes import default_catalog

    cat = default_catalog()
    for name, jt in cat.job_types.items():
        scales = cat.table.scale_factors(name)
        if args.json:
            _emit({"name": name, **jt.to_dict(), "measured_scale_factors": list(scales)})
        else:
            times = ", ".join(f"{g} {1 / t:.3g}" for g, t in jt.compute_time.items())
            print(
                f"{name:<34} 1-GPU it/s: {times}; scale factors {list(scales)}; "
                f"{jt.model_bytes / 1e6:.1f} MB"
            )
    return EXIT_OK


def _gap_text(gap: float) -> str:
    if math.isnan(gap):
        return "n/a"
    return "inf" if math.isinf(gap) else f"{gap:.4%}"


def cmd_solve(args: argparse.Namespace) -> int:
    from .io import read_instance, read_solution, write_solution
    from .result import Status
    from .solve import solve

    inst = read_instance(args.instance)
    warm = read_solution(args.warm_start) if args.warm_start else None
    extra = {"solver": args.solver} if args.solver else {}
    result = solve(
        inst,
        args.method,
        time_limit=args.time_limit,
        workers=args.workers,
        seed=args.seed,
        warm_start=warm,
        **extra,
    )
    if result.status is Status.UNSUPPORTED:  # the method does not take this instance
        raise InputError(result.message)
    if args.out and result.solution is not None:
        write_solution(args.out, result.solution, inst.name)
    if args.json:
        _emit(result.to_dict())
    else:
        verdict = {None: "no solution", True: "checker: feasible", False: "checker: INFEASIBLE"}
        feasible = None if result.check is None else result.check.feasible
        print(
            f"{inst.name}: {result.method} {result.status.value}; objective "
            f"{_fmt(result.objective)}, bound {_fmt(result.bound)}, gap "
            f"{_gap_text(result.gap)}, {result.runtime:.2f} s; {verdict[feasible]}"
        )
        if result.message:
            print(f"  {result.message}")
        if args.out and result.solution is not None:
            print(f"  solution written to {args.out}")
    return EXIT_INTERNAL if result.status is Status.ERROR else EXIT_OK


def cmd_gap(args: argparse.Namespace) -> int:
    from pathlib import Path

    from .bench import suite_files
    from .gaps import gap_table, summarize
    from .io import read_instance
    from .references import REFERENCE_FILE

    files: list[Path] = []
    for arg in args.instances:  # a suite folder stands for its instances
        p = Path(arg)
        if p.is_dir():
            files += suite_files(p)
        elif p.name != REFERENCE_FILE:  # a glob over a suite also matches its reference
            files.append(p)
    instances = [read_instance(f) for f in files]
    folders = [f.resolve().parent for f in files]
    df = gap_table(
        instances,
        args.method,
        args.against,
        args.time_limit,
        args.workers,
        args.seed,
        folders=folders,
    )
    summary = summarize(df)
    if args.json:
        for row in df.to_dict(orient="records"):
            _emit(
                {
                    k: (v if not isinstance(v, float) or math.isfinite(v) else None)
                    for k, v in row.items()
                }
            )
        _emit({"summary": summary, "method": args.method, "against": args.against})
        return EXIT_OK
    print(
        f"{'instance':<34} {'status':<10} {'objective':>12} {'reference':>12} {'gap':>9}  "
        "checker  reference from"
    )
    for row in df.itertuples(index=False):
        check_text = {True: "ok", False: "FAIL", None: "-"}[row.feasible]
        print(
            f"{row.instance[:34]:<34} {row.status:<10} {_fmt(row.objective):>12} "
            f"{_fmt(row.reference):>12} {_gap_text(row.gap):>9}  {check_text:<7}  "
            f"{row.reference_kind}"
        )
    s = summary
    if s["mean"] is None:
        print(f"summary: {s['n']} instance(s), none with a finite gap")
    else:
        print(
            f"summary: {s['n']} instance(s); gap mean {s['mean']:.4%}, geometric mean "
            f"{s['geomean']:.4%}, max {s['max']:.4%}; within 0.1%: {s['within_0.1%']}"
            + (f"; no gap: {s['no_gap']}" if s["no_gap"] else "")
        )
    return EXIT_OK


def cmd_bench(args: argparse.Namespace) -> int:
    from pathlib import Path

    from .bench import DEFAULT_METHODS, DEFAULT_SUITES, run, summary_table
    from .report import to_markdown

    suites = args.suites or list(DEFAULT_SUITES)
    methods = [m for m in (args.methods.split(",") if args.methods else DEFAULT_METHODS) if m]
    try:
        seeds = [int(s) for s in args.seeds.split(",")]
    except ValueError:
        raise InputError(
            f"bench: --seeds must be integers separated by commas, got {args.seeds!r}"
        ) from None
    out = Path(args.out)
    df = run(
        suites,
        methods,
        out,
        args.time_limit,
        args.workers,
        args.parallel,
        seeds,
        progress=not args.json and sys.stderr.isatty(),
    )
    if args.json:
        for row in df.to_dict(orient="records"):
            _emit(
                {
                    k: (None if isinstance(v, float) and not math.isfinite(v) else v)
                    for k, v in row.items()
                }
            )
        return EXIT_OK
    table = summary_table(df, ["suite", "method"])
    print(
        f"{len(df)} runs, results in {out}  (time limit {args.time_limit} s, "
        f"{args.workers} worker(s), seeds {args.seeds})"
    )
    print(to_markdown(table, floatfmt=".3g"))
    bad = df[df["feasible"] == False]  # noqa: E712
    if len(bad):
        print(f"checker rejected {len(bad)} solution(s): see the results file")
    return EXIT_OK


def cmd_table(args: argparse.Namespace) -> int:
    from pathlib import Path

    from .bench import load_results, summary_table
    from .io import write_text
    from .report import to_latex, to_markdown

    df = load_results(Path(args.results))
    table = summary_table(df, [c for c in args.by.split(",") if c])
    if args.json:
        for row in table.to_dict(orient="records"):
            _emit(
                {
                    k: (None if isinstance(v, float) and not math.isfinite(v) else v)
                    for k, v in row.items()
                }
            )
        return EXIT_OK
    if args.format == "latex":
        text = to_latex(table, floatfmt=".3g", caption=args.caption, label=args.label)
    else:
        text = to_markdown(table, floatfmt=".3g") + "\n"
    if args.out:
        write_text(args.out, text)
        print(f"wrote {args.out}")
    else:
        print(text, end="")
    return EXIT_OK


def _counts(text: str) -> dict[str, int]:
    out = {}
    for part in text.split(","):
        name, _, num = part.partition(":")
        try:
            out[name.strip()] = int(num)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"must look like v100:24,p100:24, got {text!r}"
            ) from None
    return out


def cmd_generate(args: argparse.Namespace) -> int:
    from .io import dumps, write_instance
    from .problems import family

    fam = family(args.family)
    options = {o.name: getattr(args, o.name) for o in fam.options if hasattr(args, o.name)}
    inst = fam.generate(args.source, args.seed, **options)
    if args.out:
        write_instance(args.out, inst)
        if args.json:
            _emit({"file": args.out, "family": inst.family, "name": inst.name})
        else:
            print(f"wrote {args.out}: {inst.family} instance {inst.name!r}")
    else:
        sys.stdout.write(dumps(inst.to_dict()))
    return EXIT_OK


def cmd_methods(args: argparse.Namespace) -> int:
    from .registry import methods

    for m in methods(args.family):
        if args.json:
            _emit({"family": m.family, "name": m.name, "kind": m.kind, "summary": m.summary})
        else:
            print(f"{m.family:<10} {m.name:<16} {m.kind:<9} {m.summary}")
    return EXIT_OK


# ---------------------------------------------------------------- parser
def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number, got {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"must be a finite number > 0, got {text!r}")
    return value


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # one line, exit 2
        self.exit(EXIT_INPUT, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="optsched", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    def add(
        name: str, fn: Callable[[argparse.Namespace], int], help: str
    ) -> argparse.ArgumentParser:
        sp = sub.add_parser(name, help=help, description=help)
        sp.set_defaults(func=fn)
        sp.add_argument("--json", action="store_true", help="print JSON (one object per line)")
        return sp

    sp = add("validate", cmd_validate, "validate instance or solution files")
    sp.add_argument("files", nargs="*")
    sp.add_argument("--schema", action="store_true", help="print the JSON Schema and exit")
    sp = add("info", cmd_info, "summarise instance files")
    sp.add_argument("files", nargs="+")
    sp = add("check", cmd_check, "check a solution against an instance (exit 3 if infeasible)")
    sp.add_argument("instance")
    sp.add_argument("solution")
    sp.add_argument("--max-violations", type=_positive_int, default=20)
    sp = add("comm", cmd_comm, "communication volume of model selection (Cerebro Table 2)")
    sp.add_argument("--epochs", "-k", type=_positive_int, default=20)
    sp.add_argument("--configs", "-S", type=_positive_int, default=20)
    sp.add_argument("--workers", "-p", type=_positive_int, default=10)
    sp.add_argument("--model-size", "-m", default="1GB", help="bytes, e.g. 1GB (decimal units)")
    sp.add_argument("--dataset-size", "-D", default="1TB")
    sp.add_argument(
        "--iters-per-epoch", type=_positive_float, default=1e5, help="|D|/b, mini-batches per epoch"
    )

    sp = add("solve", cmd_solve, "solve an instance with a method; the solution is re-checked")
    sp.add_argument("instance")
    sp.add_argument(
        "--method",
        "-m",
        default="cpsat",
        help="cpsat, milp, a heuristic, or module:function (default cpsat)",
    )
    sp.add_argument("--time-limit", "-t", type=_positive_float, default=None, help="seconds")
    sp.add_argument("--workers", "-w", type=_positive_int, default=1)
    sp.add_argument("--seed", "-s", type=int, default=0)
    sp.add_argument(
        "--solver",
        help="back-end of method milp: cbc (default), highs, scip, mathopt:highs",
    )
    sp.add_argument("--warm-start", help="a solution file to start from")
    sp.add_argument("--out", "-o", help="write the solution here (JSON)")
    sp = add("gap", cmd_gap, "optimality gap of a method on instances, with a summary")
    sp.add_argument("instances", nargs="+", help="instance files or suite folders")
    sp.add_argument("--method", "-m", required=True)
    sp.add_argument(
        "--against", "-a", default="bound", help="bound (default), best, or a method name"
    )
    sp.add_argument(
        "--time-limit",
        "-t",
        type=_positive_float,
        default=60.0,
        help="seconds per solve, also for the reference (default 60)",
    )
    sp.add_argument("--workers", "-w", type=_positive_int, default=1)
    sp.add_argument("--seed", "-s", type=int, default=0)
    from .problems import FAMILIES

    gp = sub.add_parser(
        "generate",
        help="generate an instance (deterministic for a seed)",
        description="generate an instance (deterministic for a seed)",
    )
    gsub = gp.add_subparsers(dest="family", required=True, parser_class=_Parser)
    for fam in FAMILIES.values():
        sp = gsub.add_parser(fam.name, help=fam.description, description=fam.description)
        sp.set_defaults(func=cmd_generate)
        sp.add_argument("--json", action="store_true", help="print JSON (one object per line)")
        sp.add_argument(
            "--source",
            required=True,
            help="; ".join(f"{s.name}: {s.summary}" for s in fam.sources),
        )
        sp.add_argument("--seed", "-s", type=int, default=0)
        for opt in fam.options:
            kw: dict[str, Any] = {"help": opt.help, "default": argparse.SUPPRESS}
            if opt.type == "bool":
                kw["action"] = argparse.BooleanOptionalAction
            else:
                kw["type"] = {
                    "int": _positive_int,
                    "float": _positive_float,
                    "str": str,
                    "counts": _counts,
                }[opt.type]
                if opt.choices:
                    kw["choices"] = opt.choices
            sp.add_argument(opt.flag, dest=opt.name, **kw)
        sp.add_argument("--out", "-o", help="write here (default: print JSON)")
    sp = add("bench", cmd_bench, "run methods over suites (resumable) and print the gap table")
    sp.add_argument(
        "suites",
        nargs="*",
        help="suite folders or names under instances/ (default: the four *-small suites)",
    )
    sp.add_argument(
        "--methods",
        help="comma-separated (default: cpsat,milp,greedy); "
        "methods a family lacks are skipped for it",
    )
    sp.add_argument("--time-limit", "-t", type=_positive_float, default=10.0)
    sp.add_argument("--workers", "-w", type=_positive_int, default=1)
    sp.add_argument(
        "--parallel",
        "-j",
        type=_positive_int,
        default=1,
        help="cells run at once, each in its own process",
    )
    sp.add_argument("--seeds", default="0", help="comma-separated seeds (default 0)")
    sp.add_argument(
        "--out",
        "-o",
        default="results/bench.jsonl",
        help="results (JSON lines; re-running resumes)",
    )
    sp = add("table", cmd_table, "render a results file as a gap table")
    sp.add_argument("results")
    sp.add_argument("--by", default="family,method", help="columns to group by")
    sp.add_argument("--format", "-f", choices=("markdown", "latex"), default="markdown")
    sp.add_argument("--out", "-o", help="write here instead of stdout")
    sp.add_argument("--caption")
    sp.add_argument("--label")
    sp = add("methods", cmd_methods, "list methods by family")
    sp.add_argument("--family", choices=list(FAMILIES))

    tp = sub.add_parser("throughput", help="the throughput model")
    tsub = tp.add_subparsers(dest="subcommand", required=True, parser_class=_Parser)
    for name, fn, help_text in (
        ("validate", cmd_throughput_validate, "predicted vs measured (Gavel, Pollux)"),
        ("types", cmd_throughput_types, "list the measured job types"),
    ):
        sp = tsub.add_parser(name, help=help_text, description=help_text)
        sp.set_defaults(func=fn)
        sp.add_argument("--json", action="store_true")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, or a usage error (exit 2)
        return int(exc.code or 0)
    try:
        return int(args.func(args))
    except InputError as exc:
        print(f"optsched: error: {exc}", file=sys.stderr)
        return EXIT_INPUT
    except KeyboardInterrupt:
        print("optsched: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into a closed reader (e.g. head)
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except Exception as exc:  # a bug: say so in one line unless debugging
        if os.environ.get("OPTSCHED_DEBUG"):
            raise
        print(
            f"optsched: internal error: {exc.__class__.__name__}: {exc} "
            "(set OPTSCHED_DEBUG=1 for a traceback)",
            file=sys.stderr,
        )
        return EXIT_INTERNAL


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
