"""`corpus report DATASET_DIR [--compare OTHER_DIR] [--output DIR] [--tokenizer PATH]`: quality report.
Token totals come from the dataset's token shards (DATASET/tokens/meta.json) when it has them, or from
--tokenizer."""

from __future__ import annotations

import argparse
import os
import sys

from corpus.errors import InputError


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "report",
        help="write a quality report (index.html, report.json, report.md) for a dataset, or compare two",
        description="Write a self-contained HTML quality report, report.json (every number) and report.md (a "
        "summary) for a dataset directory written by corpus, a folder of Parquet/Arrow files, or one file. "
        "Word-level numbers come from a sample once the dataset is larger than the sample budget; the report "
        "says so.",
    )
    p.add_argument("dataset", help="dataset directory (or folder of Parquet/Arrow files, or one file)")
    p.add_argument(
        "--compare", metavar="OTHER", help="a second dataset to show side by side (e.g. raw vs cleaned)"
    )
    p.add_argument(
        "--output",
        "-o",
        help="report folder (default: DATASET/report, or DATASET/report-vs-OTHER with --compare)",
    )
    p.add_argument(
        "--tokenizer",
        metavar="PATH",
        help="count tokens with this tokenizer: tokenizer.json, a folder with one, or vocab.json + merges.txt "
        "(without it, the totals of the dataset's token shards are reported, if it has any)",
    )
    p.add_argument(
        "--sample-rows",
        type=int,
        metavar="N",
        help="most documents in the word-level sample (default 20,000)",
    )
    p.add_argument(
        "--sample-mb", type=float, metavar="MIB", help="most MiB of text in that sample (default 4)"
    )
    p.add_argument("--quiet", "-q", action="store_true", help="print nothing on success")
    p.set_defaults(func=run)


def _default_output(args: argparse.Namespace) -> str:
    base = args.dataset if os.path.isdir(args.dataset) else os.path.dirname(os.path.abspath(args.dataset))
    if args.compare:
        other = os.path.basename(os.path.normpath(os.path.abspath(args.compare)))
        return os.path.join(base, f"report-vs-{other}")
    return os.path.join(base, "report")


def run(args: argparse.Namespace) -> int:
    from corpus.report import DEFAULT_SAMPLE_BYTES, DEFAULT_SAMPLE_ROWS, build_report

    for path in [args.dataset] + ([args.compare] if args.compare else []):
        if not os.path.exists(path):
            raise InputError(f"dataset not found: {path}")
    if args.sample_rows is not None and args.sample_rows < 1:
        raise InputError(f"--sample-rows must be at least 1, got {args.sample_rows}")
    if args.sample_mb is not None and args.sample_mb <= 0:
        raise InputError(f"--sample-mb must be positive, got {args.sample_mb}")
    output = args.output or _default_output(args)
    result = build_report(
        args.dataset,
        output,
        compare=args.compare,
        tokenizer=args.tokenizer,
        sample_rows=args.sample_rows or DEFAULT_SAMPLE_ROWS,
        sample_bytes=int(args.sample_mb * 2**20) if args.sample_mb else DEFAULT_SAMPLE_BYTES,
    )
    if not args.quiet:
        reports = [result["a"], result["b"]] if result["mode"] == "compare" else [result]
        for report in reports:
            totals = report["totals"]
            print(
                f"{report['dataset']['path']}: {totals['documents']:,} documents, "
                f"{totals['text_bytes'] / 2**20:,.2f} MiB of text, {len(report['warnings'])} warning(s)"
            )
            tokens = report.get("tokens")
            if tokens:
                origin = tokens["path"] if tokens["origin"] == "token shards" else tokens["tokenizer"]
                approx = "" if tokens["exact"] else "≈ "
                print(
                    f"  tokens: {approx}{tokens['tokens']:,} ({tokens['tokens_per_byte']:.4f} per byte) from {origin}"
                )
            for warning in report["warnings"]:
                print(f"  warning: {warning['message']}")
        print(f"report written to {os.path.join(output, 'index.html')}", file=sys.stdout)
    return 0
