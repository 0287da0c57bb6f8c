"""The `corpus` command. Each subcommand lives in corpus/commands/<name>.py and defines
`add_parser(subparsers)`, which registers its arguments and sets `func`, a callable taking the parsed args
and returning an exit code."""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

import corpus
import corpus.commands
from corpus.errors import CorpusError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="corpus",
        description="Turn raw web and book dumps into clean, deduplicated, sharded training data.",
        epilog="Run 'corpus COMMAND --help' for a command's options. Recipes live in pipelines/.",
    )
    parser.add_argument("--version", action="version", version=f"corpus {corpus.__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in sorted(m.name for m in pkgutil.iter_modules(corpus.commands.__path__)):
        importlib.import_module(f"corpus.commands.{module}").add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except CorpusError as err:
        print(f"corpus: error: {err}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `corpus inspect | head`
        return 0
    except KeyboardInterrupt:
        print("corpus: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
