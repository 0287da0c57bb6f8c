"""The `corpus` command. Each subcommand lives in corpus/commands/<name>.py and defines
`add_parser(subparsers)`, which registers its arguments and sets `func`, a callable taking the parsed args
and returning an exit code."""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import shlex
import signal
import sys
import threading

import corpus
import corpus.commands
from corpus.errors import CorpusError


class Terminated(BaseException):
    """SIGTERM (what a job scheduler sends before it kills a job), raised in the main process so that every
    `with` and `finally` on the way out runs: worker pools are terminated and joined, nothing is orphaned.
    A BaseException, so that no `except Exception` on the way swallows it."""


def _raise_terminated(signum, frame):
    raise Terminated


def _default_sigterm_in_child() -> None:
    """A forked worker must die of SIGTERM at once, as by default, not inherit the main process's Python
    handler: Python runs a handler only in the main thread, and the kernel may hand the signal to another of
    the worker's threads (pyarrow's, polars'), leaving the main thread asleep on a pool lock for ever, and
    the pool's terminate() waiting on it."""
    if signal.getsignal(signal.SIGTERM) is _raise_terminated:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


os.register_at_fork(after_in_child=_default_sigterm_in_child)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="corpus",
        description="Turn raw web and book dumps into clean, deduplicated, sharded training data.",
        epilog="Run 'corpus COMMAND --help' for a command's options. Recipes live in pipelines/.",
    )
    parser.add_argument("--version", action="version", version=f"corpus {corpus.__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    # one module a command; a leading underscore marks what commands share
    for module in sorted(m.name for m in pkgutil.iter_modules(corpus.commands.__path__) if m.name[0] != "_"):
        importlib.import_module(f"corpus.commands.{module}").add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser().parse_args(argv)
    args.command_line = shlex.join(["corpus", *argv])  # kept by runs, so that they can say how to resume
    in_main_thread = threading.current_thread() is threading.main_thread()
    if in_main_thread:  # signal handlers can only be set from the main thread
        previous = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        return int(args.func(args) or 0)
    except CorpusError as err:
        print(f"corpus: error: {err}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `corpus inspect | head`
        return 0
    except Exception as err:  # a full disk, whoever raised it (pyarrow and tokenizers raise their own kinds)
        from corpus.output import disk_full

        if not disk_full(err):
            raise
        where = f" writing {err.filename}" if getattr(err, "filename", None) else ""
        print(
            f"corpus: error: no space left on device{where}; free some space and run again", file=sys.stderr
        )
        return 2
    except KeyboardInterrupt:
        print("corpus: interrupted", file=sys.stderr)
        return 130
    except Terminated:
        resume = "; run the same command again to resume" if hasattr(args, "overwrite") else ""
        print(f"corpus: terminated by SIGTERM{resume}", file=sys.stderr)
        return 128 + signal.SIGTERM
    finally:
        if in_main_thread:
            signal.signal(signal.SIGTERM, signal.SIG_DFL if previous is None else previous)


if __name__ == "__main__":
    sys.exit(main())
