"""`corpus tokenizer train DATASET_DIR --vocab-size N --output DIR`: train a byte-level BPE tokenizer on a
dataset; `corpus tokenizer info PATH`: what a tokenizer folder or tokenizer.json holds."""

from __future__ import annotations

import argparse
import json


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "tokenizer",
        help="train a byte-level BPE tokenizer on a dataset, or describe a tokenizer",
        description="Train a byte-level BPE tokenizer (Hugging Face tokenizers) on a dataset, streaming its "
        "shards, with special tokens for document boundaries and chat roles. The output folder loads with "
        "tokenizers and with transformers' AutoTokenizer (chat template included).",
    )
    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    train = actions.add_parser("train", help="train a tokenizer on a dataset directory")
    train.add_argument(
        "dataset", help="dataset directory written by corpus (or a folder of Parquet/Arrow files)"
    )
    train.add_argument(
        "--vocab-size", type=int, required=True, help="vocabulary size, special tokens included"
    )
    train.add_argument("--output", "-o", required=True, help="tokenizer folder to write")
    train.add_argument("--min-frequency", type=int, default=2, help="least count for a merge (default 2)")
    train.add_argument("--max-documents", type=int, default=None, help="train on the first N documents only")
    train.add_argument("--overwrite", action="store_true", help="replace a tokenizer folder that corpus made")
    train.set_defaults(func=run_train)
    info = actions.add_parser("info", help="vocabulary, special tokens and hash of a tokenizer")
    info.add_argument("tokenizer", help="tokenizer folder or tokenizer.json")
    info.set_defaults(func=run_info)


def run_train(args: argparse.Namespace) -> int:
    from corpus.tokenization import train_tokenizer

    info = train_tokenizer(
        args.dataset,
        args.vocab_size,
        args.output,
        min_frequency=args.min_frequency,
        max_documents=args.max_documents,
        overwrite=args.overwrite,
    )
    print(
        f"trained a {info['vocab_size']:,}-token byte-level BPE on {info['documents']:,} documents "
        f"({info['text_bytes'] / 2**20:.2f} MiB) in {info['elapsed_s']:.1f}s -> {args.output}"
    )
    if info["vocab_size"] < info["vocab_size_requested"]:
        print(
            f"note: the data allowed only {info['vocab_size']:,} of the {info['vocab_size_requested']:,} tokens asked for"
        )
    return 0


def run_info(args: argparse.Namespace) -> int:
    from corpus.tokenization import load_tokenizer
    from corpus.tokenization.load import HASH_OF

    tok = load_tokenizer(args.tokenizer)
    added = sorted(tok.tokenizer.get_added_tokens_decoder().items())
    print(
        json.dumps(
            {
                "path": tok.path,
                "sha256": tok.sha256,
                "hash_of": HASH_OF,
                "file_sha256": tok.file_sha256,
                "vocab_size": tok.vocab_size,
                "eos": [tok.eos_token, tok.eos_id],
                "bos": [tok.bos_token, tok.bos_id],
                "special_tokens": {t.content: i for i, t in added if t.special},
            },
            indent=2,
        )
    )
    return 0
