"""`corpus ablate RECIPE_A RECIPE_B [...] --input RAW --out DIR`: which data recipe makes the better model."""

from __future__ import annotations

import argparse
import shlex
import sys

from corpus.commands.train import add_config_arguments


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "ablate",
        help="compare data recipes by the models they make: same input, budget, seeds and held-out text",
        description="Hold out text from the raw input (by document, seeded) before any recipe runs, prepare "
        "the rest with each recipe, train one tokenizer on the union of the arms (or use --tokenizer), train "
        "one proxy model per arm and seed with the same config and token budget, and evaluate every model on "
        "the held-out text in bits per byte. Writes DIR/ablation.html, ablation.json and ablation.md with each "
        "arm's data statistics, validation curves, final bits per byte over the seeds and a verdict. Running "
        "the command again skips what is done.",
    )
    p.add_argument("recipes", nargs="+", metavar="RECIPE", help="recipe YAML paths or names in pipelines/")
    p.add_argument(
        "--input", "-i", action="append", required=True, help="raw input file, folder or glob (repeatable)"
    )
    p.add_argument("--out", "-o", required=True, help="ablation folder")
    add_config_arguments(p, "tiny")
    p.add_argument(
        "--budget-tokens", type=int, default=0, help="training tokens per run, the same for every arm"
    )
    p.add_argument("--seeds", type=int, default=3, help="models per arm, seeds 0..K-1 (default 3)")
    p.add_argument(
        "--eval-on",
        help="evaluate on this instead of held-out input: a corpus dataset, or raw text/HTML (extracted)",
    )
    p.add_argument(
        "--tokenizer", help="tokenizer folder for every arm (default: trained on the union of arms)"
    )
    p.add_argument("--vocab-size", type=int, default=4096, help="vocabulary of the trained tokenizer (4096)")
    p.add_argument("--holdout", type=float, default=0.1, help="share of input documents held out (0.1)")
    p.add_argument("--holdout-seed", type=int, default=0, help="seed of the hold-out split (default 0)")
    p.add_argument(
        "--chunk-chars",
        type=int,
        default=0,
        help="cut text documents at line breaks into pieces of at most N characters before holding out, "
        "so that one big book can lend held-out passages (default 0: documents stay whole)",
    )
    p.add_argument("--workers", "-w", type=int, default=1, help="worker processes for preparing (default 1)")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress lines")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from trainer.ablate import AblationConfig, run_ablation

    summary = run_ablation(
        AblationConfig(
            recipes=args.recipes,
            inputs=args.input,
            out=args.out,
            config=args.config,
            overrides=args.overrides,
            budget_tokens=args.budget_tokens,
            seeds=args.seeds,
            eval_on=args.eval_on,
            tokenizer=args.tokenizer,
            vocab_size=args.vocab_size,
            holdout=args.holdout,
            holdout_seed=args.holdout_seed,
            chunk_chars=args.chunk_chars,
            workers=args.workers,
            progress=not args.quiet,
            command=shlex.join(["corpus", *sys.argv[1:]]) if sys.argv[1:2] == [args.command] else None,
        )
    )
    for arm in summary["arms"]:
        b = arm["bpb"]
        shown = (
            "no finished run"
            if b["mean"] is None
            else f"{b['mean']:.4f} bpb" + (f" ± {b['std']:.4f}" if b["std"] is not None else "")
        )
        print(f"{arm['name']:<16} {shown} over {b['seeds']} seed(s)")
    print(summary["verdict"]["text"])
    print(f"report: {args.out}/ablation.html")
    return 0
