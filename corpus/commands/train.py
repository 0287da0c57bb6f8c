"""`corpus train TOKENS --out RUN`: pretrain (or continue training) a Llama-style model on token shards."""

from __future__ import annotations

import argparse
import os


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "train",
        help="train a Llama-style GPT on token shards (resumes when run again on the same --out)",
        description="Train the bundled Llama-style model on token shards written by `corpus tokenize`. Running "
        "the same command again on the same --out resumes from the last checkpoint; under `torchrun "
        "--nproc_per_node N` the same command trains on N processes (DDP, or FSDP2 with --set fsdp=true).",
    )
    p.add_argument("tokens", help="token shard folder (corpus tokenize --output)")
    p.add_argument("--out", "-o", required=True, help="run folder to write (or to resume)")
    add_config_arguments(p, "tiny")
    p.add_argument("--init-from", help="start from a trainer run or a local Hugging Face Llama folder")
    p.add_argument("--max-steps", type=int, help="shorthand for --set max_steps=N")
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], help="shorthand for --set device=...")
    p.add_argument("--overwrite", action="store_true", help="start afresh in an --out that holds another run")
    p.add_argument(
        "--tensorboard", action="store_true", help="write TensorBoard event files to RUN/tensorboard"
    )
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def add_config_arguments(p: argparse.ArgumentParser, default: str) -> None:
    """--config and --set, the same for every command that trains a model (train, finetune, sweep, ablate)."""
    p.add_argument(
        "--config",
        "-c",
        default=default,
        help=f"trainer config: a preset (tiny, small, gpt2-small, finetune) or a YAML file ({default})",
    )
    p.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config key (YAML value; repeatable)",
    )


def overrides_of(args: argparse.Namespace) -> list[str]:
    extra = list(args.overrides)
    if getattr(args, "max_steps", None) is not None:
        extra.append(f"max_steps={args.max_steps}")
    if getattr(args, "device", None):
        extra.append(f"device={args.device}")
    return extra


def run(args: argparse.Namespace) -> int:
    from trainer.train import load_config, train

    config = load_config(args.config, overrides_of(args))
    summary = train(
        config,
        args.tokens,
        args.out,
        init_from=args.init_from,
        overwrite=args.overwrite,
        progress=not args.quiet,
        tensorboard=args.tensorboard,
    )
    if int(os.environ.get("RANK", "0")) == 0 and not args.quiet:  # one summary under torchrun
        bpb = summary.get("best_val_bpb")
        print(
            f"trained {summary['parameters']:,} parameters for {summary['steps']} steps "
            f"({summary['tokens_seen']:,} tokens, {summary['wall_s']:.0f} s on {summary['device']}, "
            f"stopped: {summary['stopped']})"
            + (f"; best val bpb {bpb:.4f}" if bpb is not None else "")
            + f"\nrun folder {args.out}: checkpoints/{{best,last}}, metrics.jsonl, report.html"
        )
    return 0
