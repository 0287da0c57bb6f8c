"""`corpus prepare RECIPE --input PATH --output DIR`: run a recipe end to end."""

from __future__ import annotations

import argparse
import sys


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
    p.add_argument("--no-report", action="store_true", help="skip the quality report at the end")
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="replace an output directory that a corpus command made (never the input, never a folder "
        "that corpus did not make)",
    )
    p.add_argument(
        "--keep-work",
        action="store_true",
        help="keep the stage datasets and global-step decisions under OUTPUT/.corpus once the run is "
        "complete (removed by default)",
    )
    p.add_argument("--quiet", "-q", action="store_true", help="no progress lines and no summary")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from corpus.commands.inspect import summary
    from corpus.pipeline import load_recipe, run_recipe

    recipe = load_recipe(args.recipe)
    if args.seed is not None:
        data = recipe.to_dict()
        data["seed"] = args.seed
        for step in data["steps"]:  # the seed given on the command line replaces the recipe's everywhere
            opts = next(iter(step.values()))
            if "seed" in opts:
                opts["seed"] = args.seed
        recipe = load_recipe(data)
    stats = run_recipe(
        recipe,
        args.input,
        args.output,
        workers=args.workers,
        executor=args.executor,
        report=not args.no_report,
        progress=not args.quiet,
        overwrite=args.overwrite,
        keep_work=args.keep_work,
        command=getattr(args, "command_line", None),
    )
    if not args.quiet:
        print(summary(args.output, stats), file=sys.stdout)
    return 0
