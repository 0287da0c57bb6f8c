"""`corpus dedup INPUT_DIR --output DIR [options]`: near-duplicate removal (MinHash LSH) on its own."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from corpus.commands._recipe_run import add_run_options, run_recipe_from_args


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "dedup",
        help="remove near-duplicates with MinHash LSH, with an audit of every cluster",
        description="Deduplicate a dataset (a folder written by corpus, whose data/ is read, or any input corpus "
        "reads: a folder of Parquet/Arrow shards, JSONL, ...). Writes the kept documents to OUTPUT/data, the "
        "dropped ones to OUTPUT/rejected/near_duplicate*/, every cluster to OUTPUT/duplicates/, and stats. "
        "Same as a recipe with one step {dedup: {...}}; see 'corpus steps dedup'.",
    )
    p.add_argument(
        "input", metavar="INPUT_DIR", help="dataset folder (its data/ is read), shard folder or file"
    )
    p.add_argument("--output", "-o", required=True, help="output dataset directory")
    g = p.add_argument_group("shingles and banding")
    g.add_argument("--unit", choices=["word", "char"], default="word", help="shingle unit (default word)")
    g.add_argument("--ngram", type=int, default=5, help="shingle size in units (default 5)")
    g.add_argument("--num-perm", type=int, default=None, help="permutations (default bands x rows, or 112)")
    g.add_argument("--bands", type=int, default=None, help="LSH bands (with --rows; default 14)")
    g.add_argument("--rows", type=int, default=None, help="rows per band (with --bands; default 8)")
    g.add_argument(
        "--threshold",
        type=float,
        default=None,
        help="Jaccard similarity of a duplicate: picks bands x rows when they are not given, and is the "
        "verification cut-off (default 0.8)",
    )
    g.add_argument("--hash-seed", type=int, default=1, help="permutation seed (datasketch's default 1)")
    g.add_argument(
        "--normalize",
        choices=["default", "none"],
        default="default",
        help="default: lower-case and strip punctuation before taking shingles; none: raw text.split() "
        "tokens (or raw characters)",
    )
    d = p.add_argument_group("decisions")
    d.add_argument(
        "--verify",
        choices=["none", "estimate", "exact"],
        default="exact",
        help="check candidate pairs: exact (shingle sets, default), estimate (signatures), none (a shared band "
        "is enough)",
    )
    d.add_argument(
        "--keep", choices=["first", "longest", "quality"], default="first", help="who stays in a cluster"
    )
    d.add_argument("--score-field", default="", help="metadata field ranked by --keep quality (dotted path)")
    d.add_argument(
        "--dedup-augmented",
        dest="spare_augmented",
        action="store_false",
        help="treat augmented copies like any other document (by default a copy is never a duplicate of its "
        "own source or of a sibling copy)",
    )
    i = p.add_argument_group("incremental")
    i.add_argument("--save-index", metavar="DIR", default=None, help="save the kept documents' index to DIR")
    i.add_argument(
        "--against-index",
        metavar="DIR",
        action="append",
        default=None,
        help="drop documents that duplicate this earlier run's index (repeatable)",
    )
    r = p.add_argument_group("run")
    r.add_argument("--workers", "-w", type=int, default=1, help="parallel worker processes (default 1)")
    r.add_argument(
        "--format", choices=["parquet", "arrow"], default=None, help="output format (default: input's)"
    )
    r.add_argument("--max-docs-per-shard", type=int, default=None, help="documents per output shard")
    add_run_options(r)
    p.set_defaults(func=run)


def step_options(args: argparse.Namespace) -> dict[str, Any]:
    """The dedup step options given on the command line (defaults left out, so the recipe stays short)."""
    options: dict[str, Any] = {}
    for name, default in (
        ("unit", "word"),
        ("ngram", 5),
        ("num_perm", None),
        ("bands", None),
        ("rows", None),
        ("threshold", None),
        ("hash_seed", 1),
        ("verify", "exact"),
        ("keep", "first"),
        ("score_field", ""),
        ("save_index", None),
        ("spare_augmented", True),
        ("normalize", "default"),
    ):
        value = getattr(args, name)
        if value != default:
            options[name] = value
    # paths given on the command line are from the current directory (in a recipe, from the output folder)
    if args.save_index:
        options["save_index"] = os.path.abspath(args.save_index)
    if args.against_index:
        against = [os.path.abspath(p) for p in args.against_index]
        options["against_index"] = against if len(against) > 1 else against[0]
    return options


def input_path(path: str) -> str:
    """A dataset folder written by corpus is read through its data/; anything else as given."""
    data = os.path.join(path, "data")
    if os.path.isdir(data):
        return data
    return path


def _input_format(path: str) -> str:
    names = os.listdir(path) if os.path.isdir(path) else [path]
    return (
        "arrow" if names and all(n.endswith(".arrow") for n in names if not n.startswith(".")) else "parquet"
    )


def build_recipe(args: argparse.Namespace, source: str) -> dict[str, Any]:
    output: dict[str, Any] = {"format": args.format or _input_format(source)}
    if args.max_docs_per_shard is not None:
        output["max_docs_per_shard"] = args.max_docs_per_shard
    return {"name": "dedup", "steps": [{"dedup": step_options(args)}], "output": output}


def run(args: argparse.Namespace) -> int:
    from corpus.commands.inspect import summary
    from corpus.errors import InputError

    if not os.path.exists(args.input):
        raise InputError(f"input {args.input} does not exist")
    source = input_path(args.input)
    stats = run_recipe_from_args(build_recipe(args, source), source, args)
    if not args.quiet:
        print(summary(args.output, stats), file=sys.stdout)
        print(_dedup_line(stats), file=sys.stdout)
    return 0


def _dedup_line(stats: dict[str, Any]) -> str:
    step = next((s for s in stats.get("steps", []) if s["name"] == "dedup"), None)
    if not step:
        return ""
    c = step.get("counters", {})
    line = (
        f"  dedup: {c.get('clusters', 0):,} clusters, {c.get('duplicates_removed', 0):,} documents removed "
        f"({c.get('duplicates_of_index', 0):,} of them duplicates of a saved index), "
        f"{c.get('candidate_pairs', 0):,} candidate pairs"
    )
    if c.get("verified_pairs"):
        line += f", {c['verified_pairs']:,} verified ({c.get('false_positives', 0):,} false positives)"
    return line
