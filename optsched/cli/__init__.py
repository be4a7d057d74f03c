"""The optsched command line: exact models, bounds and baselines for GPU-cluster scheduling.

Conventions: every reporting command takes ``--json`` and then prints one JSON
object per line. Exit codes: 0 success, 1 internal error, 2 bad input (one
line on stderr naming the field and value), 3 a checked solution violates
constraints. ``--help`` of every command shows every default.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

from ..errors import InputError, Terminated
from . import (
    allocating,
    benching,
    experimenting,
    files,
    generating,
    model,
    simulating,
    solving,
)
from .common import EXIT_INPUT, EXIT_INTERNAL, EXIT_OK, Parser

__all__ = ["build_parser", "main"]


def version_text() -> str:
    from importlib.metadata import PackageNotFoundError, version

    def v(name: str) -> str:
        try:
            return version(name)
        except PackageNotFoundError:
            return "absent"

    return (
        f"optsched {v('optsched')} (ortools {v('ortools')}, pulp {v('pulp')}, "
        f"highspy {v('highspy')}, python {sys.version.split()[0]})"
    )


def build_parser() -> Parser:
    p = Parser(prog="optsched", description=(__doc__ or "").splitlines()[0])
    p.add_argument("--version", action="version", version=version_text())
    sub = p.add_subparsers(dest="command", required=True, parser_class=Parser)
    groups = (files, model, solving, generating, benching, simulating, allocating, experimenting)
    for group in groups:
        group.register(sub)
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
    except Terminated:
        print("optsched: terminated", file=sys.stderr)
        return 143
    except BrokenPipeError:  # output piped into a closed reader (e.g. head)
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except Exception as exc:  # a bug: say so in one line unless debugging
        from ..problems.record import debugging

        if debugging():
            raise
        print(
            f"optsched: internal error: {exc.__class__.__name__}: {exc} "
            "(set OPTSCHED_DEBUG=1 for a traceback)",
            file=sys.stderr,
        )
        return EXIT_INTERNAL


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
