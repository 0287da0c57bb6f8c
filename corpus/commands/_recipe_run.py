"""What the commands that run a recipe (prepare, augment, dedup) share: their run options and the call."""

from __future__ import annotations

import argparse
from typing import Any


def add_run_options(group: argparse._ActionsContainer) -> None:
    """--no-report, --overwrite, --keep-work and --quiet, worded the same for every recipe command."""
    group.add_argument("--no-report", action="store_true", help="skip the quality report at the end")
    group.add_argument(
        "--overwrite",
        action="store_true",
        help="replace an output directory that a corpus command made (never the input, never a folder "
        "that corpus did not make)",
    )
    group.add_argument(
        "--keep-work",
        action="store_true",
        help="keep the stage datasets and global-step decisions under OUTPUT/.corpus once the run is "
        "complete (removed by default)",
    )
    group.add_argument("--quiet", "-q", action="store_true", help="no progress lines and no summary")


def with_seed(recipe: Any, seed: int | None) -> Any:
    """The recipe with the command line's seed in place of its own, in every seeded step too."""
    from corpus.pipeline import load_recipe

    if seed is None:
        return recipe
    data = recipe.to_dict()
    data["seed"] = seed
    for step in data["steps"]:
        opts = next(iter(step.values()))
        if "seed" in opts:
            opts["seed"] = seed
    return load_recipe(data)


def run_recipe_from_args(recipe: Any, source: str, args: argparse.Namespace, **options: Any) -> dict:
    """run_recipe with the run options that add_run_options declared."""
    from corpus.pipeline import run_recipe

    return run_recipe(
        recipe,
        source,
        args.output,
        workers=args.workers,
        report=not args.no_report,
        progress=not args.quiet,
        overwrite=args.overwrite,
        keep_work=args.keep_work,
        command=getattr(args, "command_line", None),
        **options,
    )
