"""`corpus export RUN --hf OUT`: a run as a Hugging Face folder (AutoModelForCausalLM, AutoTokenizer)."""

from __future__ import annotations

import argparse


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "export",
        help="write a trainer run as a Hugging Face Llama folder",
        description="Write a run's checkpoint as a folder that transformers loads (config.json, model.safetensors, "
        "tokenizer files with the chat template, generation_config.json).",
    )
    p.add_argument("run", help="trainer run folder (or one of its checkpoint folders)")
    p.add_argument("--hf", required=True, help="folder to write")
    p.add_argument("--checkpoint", choices=["best", "last"], default="best", help="which checkpoint (best)")
    p.add_argument("--overwrite", action="store_true", help="replace an earlier export in --hf")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from trainer.hf import export_hf

    info = export_hf(args.run, args.hf, args.checkpoint, overwrite=args.overwrite)
    print(
        f"exported {info['parameters']:,} parameters from {info['checkpoint']} -> {info['path']} "
        f"(config.json, model.safetensors, tokenizer{' with chat template' if info['chat_template'] else ''}, "
        "generation_config.json)"
    )
    return 0
