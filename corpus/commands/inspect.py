"""`corpus inspect DIR`: counts, schema, per-step statistics and a few sample rows of a dataset."""

from __future__ import annotations

import argparse
import json
import os
import textwrap
from typing import Any

from corpus.errors import InputError


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("inspect", help="show counts, schema, statistics and sample rows of a dataset")
    p.add_argument("dataset", help="dataset directory written by corpus (or a folder of Parquet/Arrow files)")
    p.add_argument("--rows", "-n", type=int, default=3, help="sample rows to show (default 3)")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.set_defaults(func=run)


def _data_folder(dataset: str) -> str:
    data = os.path.join(dataset, "data")
    return data if os.path.isdir(data) else dataset


def summary(dataset: str, stats: dict[str, Any] | None = None) -> str:
    """A short human summary of a finished run: documents in and out, drops by step and reason."""
    if stats is None:
        path = os.path.join(dataset, "stats.json")
        stats = json.load(open(path)) if os.path.exists(path) else {"steps": [], "reader": {}}
    manifest_path = os.path.join(dataset, "manifest.json")
    manifest = json.load(open(manifest_path)) if os.path.exists(manifest_path) else {}
    reader = stats.get("reader", {})
    lines = [f"dataset {dataset}"]
    lines.append(
        f"  read      {reader.get('documents', 0):>9,} documents from {reader.get('files', 0):,} files"
    )
    bad = {k: v for k, v in reader.items() if k not in ("documents", "files")}
    for key, value in sorted(bad.items(), key=lambda kv: -kv[1]):
        lines.append(f"            {value:>9,} {key}")
    for step in stats.get("steps", []):
        dropped = sum(step.get("dropped", {}).values())
        detail = ", ".join(
            f"{k} {v:,}" for k, v in sorted(step.get("dropped", {}).items(), key=lambda kv: -kv[1])
        )
        lines.append(
            f"  {step['name']:<18} kept {step.get('kept', 0):>7,} dropped {dropped:>6,}"
            + (f"  ({detail})" if detail else "")
        )
    if manifest:
        lines.append(
            f"  wrote     {manifest['documents']:>9,} documents, {manifest['bytes'] / 2**20:.2f} MiB "
            f"in {len(manifest['shards'])} {manifest['format']} shard(s) to {os.path.join(dataset, 'data')}"
        )
        if manifest.get("rejected"):
            lines.append(
                f"  rejected  {sum(manifest['rejected'].values()):>9,} documents in {os.path.join(dataset, 'rejected')}"
            )
    if os.path.exists(os.path.join(dataset, "report", "index.html")):
        lines.append(f"  report    {os.path.join(dataset, 'report', 'index.html')}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    import polars as pl

    from corpus.output import unfinished_run
    from corpus.pipeline import list_shards

    if not os.path.isdir(args.dataset):
        raise InputError(f"dataset not found: {args.dataset}")
    unfinished = unfinished_run(args.dataset)
    shards = list_shards(_data_folder(args.dataset))
    if not shards:
        raise InputError(
            f"no Parquet or Arrow shards in {args.dataset}" + (f"; {unfinished}" if unfinished else "")
        )
    parquet = shards[0].endswith(".parquet")
    frame = pl.scan_parquet(shards) if parquet else pl.scan_ipc(shards)
    counts = frame.select(
        pl.len().alias("documents"), pl.col("text").str.len_bytes().sum().alias("text_bytes")
    ).collect()
    sample = frame.head(args.rows).collect()
    schema = {name: str(dtype) for name, dtype in frame.collect_schema().items()}
    info = {
        "dataset": args.dataset,
        "shards": len(shards),
        "documents": counts["documents"][0],
        "text_bytes": counts["text_bytes"][0],
        "schema": schema,
        "sample": sample.to_dicts(),
        "unfinished": unfinished,
    }
    if args.json:
        print(json.dumps(info, indent=2, default=str))
        return 0
    if unfinished:
        print(f"note: {unfinished}")
    if os.path.exists(os.path.join(args.dataset, "stats.json")):
        print(summary(args.dataset))
    print(f"shards {len(shards)}  documents {info['documents']:,}  text {info['text_bytes'] / 2**20:.2f} MiB")
    print("schema  " + ", ".join(f"{k}: {v}" for k, v in schema.items()))
    for row in info["sample"]:
        print(f"--- {row['id']}  source={row['source']}  url={row.get('url') or '-'}")
        print(textwrap.indent(textwrap.shorten(row["text"], 400, placeholder=" ..."), "    "))
    return 0
