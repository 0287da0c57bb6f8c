"""`corpus sweep TOKENS --space SPACE.yaml --trials N --out DIR`: hyperparameter search with Optuna."""

from __future__ import annotations

import argparse
import shlex
import sys

from corpus.commands.train import add_config_arguments


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "sweep",
        help="search trainer hyperparameters with Optuna (TPE, random or grid; median or halving pruning)",
        description="Train one proxy model per trial on TOKENS with the base config plus the trial's values "
        "and the same token budget; the objective is the validation bits per byte at the end. Hopeless trials "
        "are pruned from their intermediate evaluations. The study is kept in DIR/study.db (or --storage), so "
        "running the command again continues it up to --trials finished trials. Writes DIR/sweep.html, "
        "sweep.json, sweep.md and best.yaml (for `corpus train --config`); every trial's run folder stays in "
        "DIR/trials/.",
    )
    p.add_argument("tokens", help="token shards (`corpus tokenize` output) with a validation split")
    p.add_argument(
        "--space",
        required=True,
        help="YAML of trainer config keys, each {low, high[, log, step]} or {choices: [...]}",
    )
    p.add_argument("--trials", type=int, required=True, help="finished trials the study should reach")
    p.add_argument("--out", "-o", required=True, help="sweep folder (study, trial runs, reports)")
    add_config_arguments(p, "tiny")
    p.add_argument(
        "--budget-tokens", type=int, default=0, help="training tokens per trial (default: the config's)"
    )
    p.add_argument("--jobs", "-j", type=int, default=1, help="trials in parallel processes (default 1)")
    p.add_argument("--storage", help="Optuna storage URL (default sqlite:///DIR/study.db)")
    p.add_argument("--study-name", default="sweep", help="study name in the storage (default sweep)")
    p.add_argument("--sampler", choices=["tpe", "random", "grid"], default="tpe", help="search (default tpe)")
    p.add_argument(
        "--pruner", choices=["median", "halving", "none"], default="median", help="pruning (default median)"
    )
    p.add_argument("--seed", type=int, default=0, help="sampler seed (default 0)")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress lines")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from trainer.sweep import SweepConfig, run_sweep

    summary = run_sweep(
        SweepConfig(
            tokens=args.tokens,
            space=args.space,
            out=args.out,
            trials=args.trials,
            config=args.config,
            overrides=args.overrides,
            budget_tokens=args.budget_tokens,
            jobs=args.jobs,
            storage=args.storage,
            sampler=args.sampler,
            pruner=args.pruner,
            seed=args.seed,
            study_name=args.study_name,
            progress=not args.quiet,
            command=shlex.join(["corpus", *sys.argv[1:]]) if sys.argv[1:2] == [args.command] else None,
        )
    )
    from trainer.sweep import headline

    print(headline(summary))
    print(f"report: {args.out}/sweep.html")
    if summary["best"]:
        print(f"best config: {summary['best']['config_file']}")
    return 0
