"""`corpus generate MODEL --prompt TEXT`: continue a prompt with a trained run or a Hugging Face model."""

from __future__ import annotations

import argparse
import sys


def add_generation_options(p: argparse.ArgumentParser, temperature: float = 1.0) -> None:
    """The sampling options shared by generate, chat and evaluate --task chat."""
    p.add_argument("--max-new-tokens", type=int, default=128, help="most tokens to generate (default 128)")
    p.add_argument(
        "--temperature", type=float, default=temperature, help=f"0 is greedy (default {temperature})"
    )
    p.add_argument("--top-k", type=int, default=0, help="sample from the K most likely tokens (0: off)")
    p.add_argument("--top-p", type=float, default=1.0, help="nucleus sampling mass (1: off)")
    p.add_argument("--repetition-penalty", type=float, default=1.0, help="1 is none (default)")
    p.add_argument("--stop", action="append", default=[], help="stop string (repeatable)")
    p.add_argument("--seed", type=int, default=None, help="seed of the sampling")


def add_model_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("model", help="trainer run folder, checkpoint folder, or local Hugging Face model folder")
    p.add_argument("--checkpoint", choices=["best", "last"], default="best", help="run checkpoint (best)")
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto", help="device (auto)")
    p.add_argument("--threads", type=int, help="CPU threads for torch (default: torch's, one per core)")


def generation_config(args: argparse.Namespace):
    from corpus.errors import InputError
    from trainer.generate import GenerationConfig

    cfg = GenerationConfig(
        max_new_tokens=args.max_new_tokens,
        temperature=args.temperature,
        top_k=args.top_k,
        top_p=args.top_p,
        repetition_penalty=args.repetition_penalty,
        stop=list(args.stop),
        seed=args.seed,
    )
    try:
        cfg.check()
    except ValueError as err:
        raise InputError(str(err)) from None
    return cfg


def resolve_device(name: str) -> str:
    import torch

    from corpus.errors import InputError

    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and not torch.cuda.is_available():
        raise InputError("--device cuda: no CUDA GPU is available")
    return name


def load_generator(args: argparse.Namespace):
    import torch

    from corpus.errors import InputError
    from trainer.generate import Generator

    if args.threads is not None:
        if args.threads < 1:
            raise InputError(f"--threads must be at least 1, not {args.threads}")
        torch.set_num_threads(args.threads)
    gen = Generator.load(args.model, device=resolve_device(args.device), checkpoint=args.checkpoint)
    for note in gen.notes:
        print(f"corpus: note: {note}", file=sys.stderr)
    return gen


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "generate",
        help="generate text from a trained run or a Hugging Face model",
        description="Continue each --prompt with the model (KV-cached decoding for the trainer's model and "
        "Llama-family folders, transformers' generate() for other causal LMs). One prompt is streamed; "
        "several are generated as one batch. --chat treats each prompt as a user message and uses the "
        "tokenizer's chat template.",
    )
    add_model_options(p)
    p.add_argument("--prompt", "-p", action="append", required=True, help="prompt text (repeatable)")
    p.add_argument("--chat", action="store_true", help="each prompt is a user turn of a new conversation")
    add_generation_options(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    cfg = generation_config(args)
    gen = load_generator(args)
    if args.chat:
        prompts = [gen.encode_chat([{"role": "user", "content": p}]) for p in args.prompt]
    else:
        prompts = [gen.encode(p) for p in args.prompt]
    if len(prompts) == 1:
        if not args.chat:
            print(args.prompt[0], end="", flush=True)
        for piece in gen.stream_ids(prompts[0], cfg):
            print(piece, end="", flush=True)
        print()
        return 0
    for prompt, completion in zip(args.prompt, gen.generate_ids(prompts, cfg), strict=True):
        print(completion.text if args.chat else prompt + completion.text)
        print("---")
    return 0
