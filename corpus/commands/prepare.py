"""`corpus prepare RECIPE --input PATH --output DIR`: run a recipe end to end."""

from __future__ import annotations

import argparse
import sys

from corpus.commands._recipe_run import add_run_options, run_recipe_from_args, with_seed


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "prepare",
        help="run a recipe: read, clean, filter, dedup, write sharded Parquet/Arrow",
        description="Run a recipe (a YAML file, or a name from pipelines/: web, books, chat) over an input file, "
        "folder or glob, writing sharded data, rejected documents, stats.json, manifest.json and a report.",
    )
    p.add_argument("recipe", help="recipe YAML path or name in pipelines/ (web, books, chat)")
    p.add_argument("--input", "-i", required=True, help="input file, folder or glob")
    p.add_argument("--output", "-o", required=True, help="output dataset directory")
    p.add_argument("--workers", "-w", type=int, default=1, help="parallel worker processes (default 1)")
    p.add_argument(
        "--executor",
        choices=["local", "ray"],
        default="local",
        help="local processes, or Ray (RAY_ADDRESS joins a cluster; otherwise a local instance)",
    )
    p.add_argument("--seed", type=int, default=None, help="override the recipe's seed")
    add_run_options(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from corpus.commands.inspect import summary
    from corpus.pipeline import load_recipe

    recipe = with_seed(load_recipe(args.recipe), args.seed)
    stats = run_recipe_from_args(recipe, args.input, args, executor=args.executor)
    if not args.quiet:
        print(summary(args.output, stats), file=sys.stdout)
    return 0
