"""`corpus finetune MODEL --data CHATS --out RUN`: supervised fine-tuning on conversations (replies only)."""

from __future__ import annotations

import argparse

from corpus.commands.train import add_config_arguments


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "finetune",
        help="fine-tune a run or a Hugging Face Llama folder on conversations (loss on replies only)",
        description="Fine-tune on a prepared chat dataset (`corpus prepare chat`) or its token shards. The dataset "
        "is tokenized with the model's tokenizer into RUN/data (bad conversations counted and skipped), "
        "conversations are packed without attention across them, the loss covers assistant replies only, and "
        "held-out conversations (split by id) drive evaluation and early stopping. Runs again on the same --out "
        "resume.",
    )
    p.add_argument("model", help="trainer run or local Hugging Face Llama folder")
    p.add_argument(
        "--data", required=True, help="prepared chat dataset, or token shards of the model's tokenizer"
    )
    p.add_argument("--out", "-o", required=True, help="run folder to write (or to resume)")
    add_config_arguments(p, "finetune")
    p.add_argument(
        "--lora", action="store_true", help="train LoRA adapters (peft) only; merged in checkpoints"
    )
    p.add_argument("--max-steps", type=int, help="shorthand for --set max_steps=N")
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], help="shorthand for --set device=...")
    p.add_argument("--val-fraction", type=float, default=0.1, help="held-out share of conversations (0.1)")
    p.add_argument("--overwrite", action="store_true", help="start afresh in an --out that holds another run")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import os

    import yaml

    from corpus.commands.train import overrides_of
    from trainer.finetune import finetune
    from trainer.train import load_config

    overrides = overrides_of(args)
    config = load_config(args.config, overrides)
    given = any(o.split("=", 1)[0].strip() == "seq_len" for o in overrides)
    if os.path.isfile(args.config):
        with open(args.config, encoding="utf-8") as f:
            given = given or "seq_len" in (yaml.safe_load(f) or {})
    summary = finetune(
        args.model,
        args.data,
        args.out,
        config,
        lora=args.lora,
        overwrite=args.overwrite,
        val_fraction=args.val_fraction,
        progress=not args.quiet,
        seq_len_given=given,
    )
    if not args.quiet:
        loss = summary.get("best_val_loss")
        print(
            f"fine-tuned {summary['parameters']:,} parameters{' (LoRA, merged)' if args.lora else ''} for "
            f"{summary['steps']} steps (stopped: {summary['stopped']})"
            + (f"; best held-out loss {loss:.4f} on replies" if loss is not None else "")
            + f"\nrun folder {args.out}: checkpoints/{{best,last}}, metrics.jsonl, report.html"
        )
    return 0
