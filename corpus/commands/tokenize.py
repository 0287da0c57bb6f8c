"""`corpus tokenize DATASET_DIR --tokenizer DIR --output DIR`: token shards for a trainer."""

from __future__ import annotations

import argparse
import sys


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "tokenize",
        help="tokenize a dataset into memory-mappable train/val token shards",
        description="Tokenize a dataset into flat token arrays (train.bin, val.bin: uint16 when the vocabulary "
        "fits, else uint32) with document offsets, an end-of-document token between documents, a loss mask "
        "for conversations and meta.json. Interrupted runs resume; output is the same for any --workers.",
    )
    p.add_argument("dataset", help="dataset directory written by corpus (or a folder of Parquet/Arrow files)")
    p.add_argument("--tokenizer", "-t", required=True, help="tokenizer folder or tokenizer.json")
    p.add_argument("--output", "-o", required=True, help="token shard folder to write")
    p.add_argument("--workers", "-w", type=int, default=1, help="parallel worker processes (default 1)")
    p.add_argument(
        "--val-fraction", type=float, default=0.01, help="share of documents for validation (0.01)"
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the train/validation split (default 0)")
    p.add_argument("--dtype", choices=["auto", "uint16", "uint32"], default="auto", help="token dtype (auto)")
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="replace token shards of another dataset, tokenizer or split in --output",
    )
    p.add_argument("--quiet", "-q", action="store_true", help="no progress and no summary")
    p.set_defaults(func=run)


def _progress(done: int, total: int) -> None:
    end = "\n" if done == total else ""
    print(f"\rtokenized {done}/{total} units", end=end, file=sys.stderr, flush=True)


def run(args: argparse.Namespace) -> int:
    from corpus.tokenization import tokenize_dataset

    meta = tokenize_dataset(
        args.dataset,
        args.tokenizer,
        args.output,
        workers=args.workers,
        val_fraction=args.val_fraction,
        seed=args.seed,
        dtype=args.dtype,
        overwrite=args.overwrite,
        progress=None if args.quiet or not sys.stderr.isatty() else _progress,
    )
    if args.quiet:
        return 0
    if meta.get("already_done"):
        print(f"{args.output} already holds these token shards; nothing to do")
    for split in ("train", "val"):
        s = meta["splits"][split]
        print(
            f"{split:<5} {s['tokens']:>13,} tokens {s['documents']:>10,} documents "
            f"{s['text_bytes'] / 2**20:>9.2f} MiB text -> {args.output}/{s['files']['tokens']}"
        )
    skipped = ", ".join(f"{k} {v:,}" for k, v in meta["skipped"].items())
    print(
        f"dtype {meta['dtype']}, vocabulary {meta['tokenizer']['vocab_size']:,}"
        + (", loss mask for conversations" if meta["has_mask"] else "")
        + (f"; skipped {skipped}" if skipped else "")
        + (f"; {meta['tokens_per_s']:,.0f} tokens/s" if meta.get("tokens_per_s") else "")
    )
    return 0
