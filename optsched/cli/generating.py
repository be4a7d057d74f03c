"""``optsched generate FAMILY``: flags derived from each family's record."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from .common import (
    EXIT_OK,
    Parser,
    count,
    counts,
    emit,
    nonnegative_int,
    positive_float,
    seed_number,
)

_TYPES = {
    "int": count,
    "int0": nonnegative_int,
    "float": positive_float,
    "str": str,
    "counts": counts,
}


def cmd_generate(args: argparse.Namespace) -> int:
    from ..io import dumps, write_instance
    from ..problems import family

    fam = family(args.family)
    options = {o.name: getattr(args, o.name) for o in fam.options if hasattr(args, o.name)}
    inst = fam.generate(args.source, args.seed, **options)
    if args.out:
        write_instance(args.out, inst)
        if args.json:
            emit({"file": args.out, "family": inst.family, "name": inst.name})
        else:
            print(f"wrote {args.out}: {inst.family} instance {inst.name!r}")
    elif args.json:  # one object on one line, as every --json
        emit(inst.to_dict())
    else:
        sys.stdout.write(dumps(inst.to_dict()))
    return EXIT_OK


def register(sub: Any) -> None:
    from ..problems import FAMILIES

    help_text = "generate an instance (deterministic for a seed)"
    gp = sub.add_parser("generate", help=help_text, description=help_text)
    gsub = gp.add_subparsers(dest="family", required=True, parser_class=Parser)
    for fam in FAMILIES.values():
        sp = gsub.add_parser(fam.name, help=fam.description, description=fam.description)
        sp.set_defaults(func=cmd_generate)
        sp.add_argument("--json", action="store_true", help="print JSON (one object per line)")
        sp.add_argument(
            "--source",
            required=True,
            # argparse formats help with %, so a summary's own % must be doubled
            help="; ".join(f"{s.name}: {s.summary}" for s in fam.sources).replace("%", "%%"),
        )
        sp.add_argument("--seed", "-s", type=seed_number, default=0, help="random seed")
        for opt in fam.options:
            # Unset options are absent, so the source's own default applies, and an
            # option a source does not take is refused only when given.
            kw: dict[str, Any] = {"help": opt.help.replace("%", "%%"), "default": argparse.SUPPRESS}
            if opt.type == "bool":
                kw["action"] = argparse.BooleanOptionalAction
            else:
                kw["type"] = _TYPES[opt.type]
                if opt.choices:
                    kw["choices"] = opt.choices
            sp.add_argument(opt.flag, dest=opt.name, **kw)
        sp.add_argument("--out", "-o", help="write here (default: print JSON)")
