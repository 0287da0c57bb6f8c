"""`corpus augment INPUT --output DIR [--recipe FILE]`: add augmented copies to a dataset."""

from __future__ import annotations

import argparse
import re
import sys

from corpus.commands._recipe_run import add_run_options, run_recipe_from_args, with_seed

DEFAULT_RECIPE = "augment"  # pipelines/augment.yaml


def add_parser(sub: argparse._SubParsersAction) -> None:
    from corpus.augment import TRANSFORMS

    p = sub.add_parser(
        "augment",
        help="add augmented copies (nlpaug and own transforms) with provenance, train split only",
        description="Read INPUT (a dataset written by corpus, JSONL, text, ...), assign train/validation/test "
        "splits and add augmented copies of train documents, each tagged with its source id, transforms "
        "and seed. Without --recipe, pipelines/augment.yaml is used.",
        epilog=_transforms_help(TRANSFORMS),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("input", help="input file, folder or glob")
    p.add_argument("--output", "-o", required=True, help="output dataset directory")
    p.add_argument(
        "--recipe", "-r", default=DEFAULT_RECIPE, help="recipe YAML (default: pipelines/augment.yaml)"
    )
    p.add_argument("--workers", "-w", type=int, default=1, help="parallel worker processes (default 1)")
    p.add_argument("--seed", type=int, default=None, help="override the recipe's seed (split and copies)")
    add_run_options(p)
    p.set_defaults(func=run)


def _transforms_help(transforms: dict) -> str:
    """Every transform with its parameters and defaults: the reference for recipe authors."""
    from corpus.augment.base import COMMON_PARAMS

    lines = [
        "transforms (recipe: augment: {transforms: [name, {name: {param: value}}]}); every transform takes",
        "  " + ", ".join(f"{k}={v}" for k, v in COMMON_PARAMS.items()) + " unless shown otherwise:",
    ]
    for name, cls in transforms.items():
        first = re.split(r"\.\s", " ".join((cls.__doc__ or "").split()))[0]
        own = ", ".join(f"{k}={v}" for k, v in cls.extra.items())
        lines.append(f"  {name:<18} {first}")
        if own:
            lines.append(f"  {'':<18} ({own})")
    lines.append("step options: see 'corpus steps augment'.")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from corpus.errors import RecipeError
    from corpus.pipeline import load_recipe

    recipe = load_recipe(args.recipe)
    if "augment" not in [name for name, _ in recipe.steps]:
        raise RecipeError(f"recipe {args.recipe} has no augment step; run it with 'corpus prepare' instead")
    stats = run_recipe_from_args(with_seed(recipe, args.seed), args.input, args)
    if not args.quiet:
        print(_summary(stats), file=sys.stdout)
    return 0


def _summary(stats: dict) -> str:
    lines = [f"documents out: {stats.get('documents_out', 0):,}"]
    for step in stats.get("steps", []):
        if step["name"] != "augment":
            continue
        counters = step.get("counters", {})
        lines.append(f"augment: {step['seen']:,} documents in, {counters.get('copies', 0):,} copies made")
        lines += _per_transform(counters)
        for key in sorted(counters):
            if key != "copies" and not key.startswith(("copies_", "unchanged_")):
                lines.append(f"  {key}: {counters[key]:,}")
    return "\n".join(lines)


def _per_transform(counters: dict) -> list[str]:
    """One line per transform: copies it changed (kept ones) and copies it ran on without changing."""
    names = sorted({k.split("_", 1)[1] for k in counters if k.startswith(("copies_", "unchanged_"))})
    if not names:
        return []
    width = max(map(len, names))
    lines = ["  per transform: copies changed, ran without a change"]
    for name in names:
        changed, unchanged = counters.get(f"copies_{name}", 0), counters.get(f"unchanged_{name}", 0)
        lines.append(f"    {name:<{width}}  {changed:>7,}  {unchanged:>7,}")
    return lines
