"""What the pipeline did: per step kept and dropped by reason (from stats.json), the funnel from documents read
to documents written, and the rejected documents on disk by reason, with samples, most common reasons first."""

from __future__ import annotations

import os
from typing import Any

import polars as pl

from corpus.report.source import Dataset, scan

SAMPLE_CHARS = 1500
NO_REJECTED: dict[str, Any] = {"documents": 0, "reasons": []}
_READER_OK = ("documents", "files")


def pipeline_section(dataset: Dataset, kept_documents: int) -> dict[str, Any]:
    stats = dataset.stats or {}
    steps = []
    for raw in stats.get("steps") or []:
        if not isinstance(raw, dict) or "name" not in raw:
            continue
        dropped = {str(k): int(v) for k, v in (raw.get("dropped") or {}).items()}
        seen = int(raw.get("seen") or 0)
        total = sum(dropped.values())
        steps.append(
            {
                "name": str(raw["name"]),
                "stage": raw.get("stage"),
                "seen": seen,
                "kept": int(raw.get("kept") or 0),
                "dropped": dict(sorted(dropped.items(), key=lambda kv: (-kv[1], kv[0]))),
                "dropped_total": total,
                "drop_rate": total / seen if seen else 0.0,
                "time_s": raw.get("time_s"),
                "counters": raw.get("counters") or {},
            }
        )
    reader = {str(k): v for k, v in (stats.get("reader") or {}).items() if isinstance(v, (int, float))}
    funnel = []
    if reader.get("documents") is not None:
        funnel.append({"label": "read", "documents": int(reader["documents"])})

    def add(step: dict[str, Any]) -> None:
        if step["seen"] or step["kept"]:
            funnel.append(
                {"label": step["name"], "documents": step["kept"], "dropped": step["dropped_total"]}
            )

    # steps that run once the dataset is written (tokenize) come after "written": what they skip stays in it
    for step in (s for s in steps if s["stage"] != "after_run"):
        add(step)
    if funnel:
        funnel.append({"label": "written", "documents": int(stats.get("documents_out", kept_documents))})
    for step in (s for s in steps if s["stage"] == "after_run"):
        add(step)
    return {
        "available": bool(stats),
        "reader": reader,
        "input_problems": {k: int(v) for k, v in reader.items() if k not in _READER_OK and v},
        "steps": steps,
        "funnel": funnel,
        "elapsed_s": stats.get("elapsed_s"),
        "recipe": (dataset.manifest or {}).get("recipe"),
    }


def rejected_section(dataset: Dataset, samples_per_reason: int = 3) -> dict[str, Any]:
    """Rejected documents by reason: documents, text bytes and characters, and the first few of each."""
    reasons = []
    for reason, shards in dataset.rejected.items():
        if not shards.shards:
            continue
        lf = scan(shards.shards)
        totals = lf.select(
            pl.len().alias("documents"),
            pl.col("text").str.len_bytes().sum().alias("bytes"),
            pl.col("text").str.len_chars().sum().alias("chars"),
        ).collect(engine="streaming")
        head = lf.head(samples_per_reason).collect()
        docs = totals["documents"][0]
        reasons.append(
            {
                "reason": reason,
                "documents": int(docs),
                "text_bytes": int(totals["bytes"][0] or 0),
                "mean_chars": float(totals["chars"][0] or 0) / docs if docs else 0.0,
                "samples": [sample_row(row) for row in head.iter_rows(named=True)],
                "unreadable_shards": len(shards.unreadable),
                "first_shard": os.path.basename(shards.shards[0].path),
            }
        )
    reasons.sort(key=lambda r: (-r["documents"], r["reason"]))
    return {"documents": sum(r["documents"] for r in reasons), "reasons": reasons}


def sample_row(row: dict[str, Any], **extra: Any) -> dict[str, Any]:
    text = row.get("text") or ""
    out = {
        "id": row.get("id"),
        "source": row.get("source"),
        "url": row.get("url"),
        "chars": len(text),
        "text": text[:SAMPLE_CHARS],
        "truncated": len(text) > SAMPLE_CHARS,
    }
    if row.get("metadata"):
        out["metadata"] = row["metadata"][:500]
    out.update(extra)
    return out


def funnel_without_stats(kept: int, rejected: dict[str, Any]) -> list[dict[str, Any]]:
    """A dataset with rejected/ but no stats.json: input = kept + rejected, one step per reason."""
    if not rejected["reasons"]:
        return []
    total = kept + rejected["documents"]
    funnel = [{"label": "kept + rejected", "documents": total}]
    # rejected shards are named part-s<stage><position>-..., so their names give the order of the steps
    for r in sorted(rejected["reasons"], key=lambda r: (r["first_shard"], r["reason"])):
        total -= r["documents"]
        funnel.append({"label": f"minus {r['reason']}", "documents": total, "dropped": r["documents"]})
    return funnel
