"""Commands on files: ``validate``, ``info``, ``check``."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ..errors import InputError
from .common import EXIT_INFEASIBLE, EXIT_OK, add_command, emit, fmt, positive_int


def cmd_validate(args: argparse.Namespace) -> int:
    from ..io import _load_json, instance_from_dict, solution_from_dict
    from ..problems.base import SOLUTION_FORMAT

    if args.schema:
        from ..io import dumps, schema

        sys.stdout.write(dumps(schema()))
        return EXIT_OK
    if not args.files:
        raise InputError("validate: give files to validate, or --schema")
    for path in args.files:
        data = _load_json(path)
        if isinstance(data, dict) and data.get("format") == "optsched-reference":
            from pathlib import Path

            from ..bench import check_references
            from ..bench.references import REFERENCE_FILE

            if Path(path).name != REFERENCE_FILE:  # suites find theirs by this name
                raise InputError(f"{path}: a reference file must be named {REFERENCE_FILE}")
            n = check_references(Path(path).parent)
            if args.json:
                emit({"file": str(path), "valid": True, "kind": "reference", "checked": n})
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
            emit({"file": str(path), "valid": True, "kind": kind, "family": obj.family})
        else:
            print(f"{path}: valid {obj.family} {kind}")
    return EXIT_OK


def cmd_info(args: argparse.Namespace) -> int:
    from ..io import read_instance

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
            emit(info)
            continue
        print(f"{path}: {inst.family} instance {inst.name!r} ({inst.sense.value}imise)")
        for key, value in info.items():
            if key in ("file", "family", "name", "sense"):
                continue
            if isinstance(value, dict):
                print(f"  {key}:")
                for k, v in value.items():
                    if isinstance(v, dict):
                        inner = ", ".join(f"{a}: {fmt(b)}" for a, b in v.items())
                        print(f"    {k}: {inner}")
                    else:
                        print(f"    {k}: {fmt(v)}")
            else:
                print(f"  {key}: {fmt(value)}")
    return EXIT_OK


def cmd_check(args: argparse.Namespace) -> int:
    from ..io import read_instance, read_solution
    from ..problems import check

    inst = read_instance(args.instance)
    sol = read_solution(args.solution, inst)
    report = check(inst, sol)
    if args.json:
        emit({"instance": str(args.instance), "solution": str(args.solution), **report.to_dict()})
    else:
        verdict = "feasible" if report.feasible else "INFEASIBLE"
        print(
            f"{args.solution}: {verdict}; objective {fmt(report.objective)} "
            f"({inst.sense.value}imise)"
        )
        for kind, (n, size) in report.by_kind().items():
            print(f"  {kind}: {n} violation(s), total size {fmt(size)}")
        for v in report.violations[: args.max_violations]:
            print(f"    {v.kind} {fmt(v.size)} at {v.where}")
        hidden = len(report.violations) - args.max_violations
        if hidden > 0:
            print(f"    ... {hidden} more")
    return EXIT_OK if report.feasible else EXIT_INFEASIBLE


def register(sub: Any) -> None:
    sp = add_command(sub, "validate", cmd_validate, "validate instance or solution files")
    sp.add_argument("files", nargs="*", help="instance, solution or reference.json files")
    sp.add_argument("--schema", action="store_true", help="print the JSON Schema and exit")
    sp = add_command(sub, "info", cmd_info, "summarise instance files")
    sp.add_argument("files", nargs="+", help="instance files")
    sp = add_command(
        sub, "check", cmd_check, "check a solution against an instance (exit 3 if infeasible)"
    )
    sp.add_argument("instance", help="instance file")
    sp.add_argument("solution", help="solution file")
    sp.add_argument(
        "--max-violations", type=positive_int, default=20, help="violations listed one by one"
    )
