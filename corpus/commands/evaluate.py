"""`corpus evaluate MODEL --data TOKENS`: loss, perplexity and bits per byte on token shards (--task lm), or
replies scored against references on held-out conversations (--task chat)."""

from __future__ import annotations

import argparse
import json


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "evaluate",
        help="measure a run or a Hugging Face model: bits per byte on token shards, or chat replies",
        description="--task lm (default): validation loss, perplexity and bits per byte over a whole split of "
        "token shards made with the model's tokenizer. --task chat: generate every held-out assistant reply and "
        "score it (BLEU, chrF, ROUGE, F1, exact match).",
    )
    p.add_argument("model", help="trainer run, checkpoint folder or local Hugging Face folder")
    p.add_argument("--task", choices=["lm", "chat"], default="lm", help="what to measure (lm)")
    p.add_argument(
        "--data", required=True, help="token shards (lm) or a chat dataset / its token shards (chat)"
    )
    p.add_argument("--split", choices=["val", "train"], default="val", help="split to evaluate (val)")
    p.add_argument("--seq-len", type=int, help="window length (default: the model's positions)")
    p.add_argument("--device", default="cpu", help="cpu or cuda (cpu)")
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    p.add_argument("--max-new-tokens", type=int, default=128, help="chat: longest generated reply (128)")
    p.add_argument("--limit", type=int, help="chat: score at most N replies")
    p.add_argument("--compare", help="a second model measured on the same data")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.task == "chat":
        from trainer.chat_eval import main

        return main(args)
    from trainer.evaluate import evaluate_lm

    results = [evaluate_lm(args.model, args.data, args.split, args.seq_len, args.device)]
    if args.compare:
        results.append(evaluate_lm(args.compare, args.data, args.split, args.seq_len, args.device))
    if args.json:
        print(json.dumps(results if args.compare else results[0], indent=2))
        return 0
    print(f"{'model':<40} {'loss':>8} {'ppl':>9} {'bpb':>7} {'tokens':>11} {'bytes':>11}")
    for r in results:
        print(
            f"{r['model'][-40:]:<40} {r['loss']:>8.4f} {r['perplexity']:>9.2f} {r['bpb']:>7.4f} "
            f"{r['tokens']:>11,} {r['bytes']:>11,}"
        )
    return 0
