"""`corpus steps`: every recipe step with its options and defaults (the recipe reference)."""

from __future__ import annotations

import argparse
import inspect


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("steps", help="list recipe steps and their options")
    p.add_argument("name", nargs="?", help="show one step in full")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from corpus.registry import step_class, step_names, step_options

    for name in [args.name] if args.name else step_names():
        cls = step_class(name)
        doc = inspect.getdoc(cls) or ""
        print(
            f"{name}: {doc if args.name else doc.split(chr(10) + chr(10))[0]}".replace(
                "\n", " " if not args.name else "\n"
            )
        )
        for key, param in step_options(cls).items():
            default = "" if param.default is inspect.Parameter.empty else f" = {param.default!r}"
            annotation = "" if param.annotation is inspect.Parameter.empty else f": {param.annotation}"
            print(f"    {key}{annotation}{default}")
    return 0
