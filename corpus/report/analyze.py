"""One dataset's report as a dict: every number that index.html and report.md show, and a few more."""

from __future__ import annotations

from typing import Any

import polars as pl

import corpus
from corpus.output import unfinished_run
from corpus.report import dedup, steps
from corpus.report.checks import THRESHOLDS, warnings_for
from corpus.report.compute import (
    metadata_counts,
    metadata_keys,
    per_document,
    rows_at,
    text_metrics,
    top_terms,
    word_tokens,
)
from corpus.report.source import Dataset, ShardSet, open_dataset, sample_stride, scan
from corpus.report.stopwords import SOURCE as STOPWORDS_SOURCE
from corpus.report.summary import distribution
from corpus.report.tokens import count_tokens, shard_tokens

REPORT_VERSION = 1
DEFAULT_SAMPLE_ROWS = 20_000
DEFAULT_SAMPLE_BYTES = 4 * 2**20
DEFAULT_TOKEN_BYTES = 4 * 2**20
SAMPLE_DOCUMENTS = 5
TOP_SOURCES = 20
ALL_DOCS = ["bytes", "chars"]
SAMPLED = ["words", "lines", "mean_word_length", "non_alpha_ratio", "stopword_ratio", "dup_line_ratio"]
_POLARS_ERRORS = (pl.exceptions.PolarsError, OSError)


def _per_document(data: ShardSet, stride: int) -> pl.DataFrame:
    """The pass over all documents; if polars fails on a damaged shard (its footer read fine), retry shard by
    shard and leave the failing ones out, named, instead of failing the report."""
    try:
        return per_document(scan(data.shards), stride)
    except _POLARS_ERRORS:
        pass
    frames, offset, good = [], 0, []
    for shard in data.shards:
        try:
            frame = per_document(scan([shard]), stride, offset)
        except _POLARS_ERRORS as err:
            data.unreadable.append((shard.path, f"{type(err).__name__}: {str(err).splitlines()[0]}"))
            continue
        frames.append(frame)
        good.append(shard)
        offset += frame.height
    data.shards = good
    return pl.concat(frames) if frames else per_document(scan([]), stride)


def _sources(per_doc: pl.DataFrame) -> dict[str, Any]:
    grouped = (
        per_doc.group_by("key")
        .agg(pl.len().alias("documents"), pl.col("bytes").sum().alias("text_bytes"))
        .sort(["documents", "key"], descending=[True, False])
    )
    with_url = int(per_doc["has_host"].sum())
    kind = "domain" if with_url == per_doc.height else ("file" if with_url == 0 else "domain or file")
    top = grouped.head(TOP_SOURCES)
    rest = grouped.slice(TOP_SOURCES)
    return {
        "available": per_doc.height > 0,
        "kind": kind,
        "distinct": grouped.height,
        "documents_with_url": with_url,
        "top": [{"key": k, "documents": int(d), "text_bytes": int(b)} for k, d, b in top.iter_rows()],
        "other": {
            "sources": rest.height,
            "documents": int(rest["documents"].sum()),
            "text_bytes": int(rest["text_bytes"].sum()),
        },
    }


def _augmentation(meta: dict[str, pl.DataFrame], documents: int, pipeline: dict[str, Any]) -> dict[str, Any]:
    combos = meta.get("augmentation")
    augmented = int(combos["n"].sum()) if combos is not None else 0
    by_transform: dict[str, int] = {}
    if combos is not None:
        for value, n in combos.iter_rows():
            for name in value.split("+"):
                by_transform[name] = by_transform.get(name, 0) + n
    from_stats: dict[str, int] = {}
    for step in pipeline["steps"]:
        for key, value in step["counters"].items():
            if key.startswith("copies_") and isinstance(value, (int, float)):
                name = key.removeprefix("copies_")
                from_stats[name] = from_stats.get(name, 0) + int(value)
    return {
        "available": bool(augmented or from_stats),
        "augmented_documents": augmented,
        "original_documents": documents - augmented,
        "by_transform": sorted(([k, v] for k, v in by_transform.items()), key=lambda kv: (-kv[1], kv[0])),
        "by_combination": _value_counts(combos)[:20] if combos is not None else [],
        "from_stats": dict(sorted(from_stats.items())),
    }


def _value_counts(frame: pl.DataFrame) -> list[list]:
    return [[str(v), int(n)] for v, n in frame.sort(["n", "value"], descending=[True, False]).iter_rows()]


def _samples(data: ShardSet, sample: pl.DataFrame, metrics: pl.DataFrame) -> list[dict[str, Any]]:
    if sample.height == 0:
        return []
    k = min(SAMPLE_DOCUMENTS, sample.height)
    positions = sorted({round(i * (sample.height - 1) / max(1, k - 1)) for i in range(k)})
    rows = [sample.row(p, named=True) for p in positions]
    fields = rows_at(scan(data.shards), [r["idx"] for r in rows], ["id", "source", "url"])
    words = dict(zip(metrics["idx"].to_list(), metrics["words"].to_list()))
    return [
        steps.sample_row(
            {**fields.get(r["idx"], {}), "text": r["text"]}, words=words.get(r["idx"]), index=r["idx"]
        )
        for r in rows
    ]


def _guarded(dataset: Dataset, what: str, fn, default):
    """A part of the report that reads more of the data (metadata, rejected shards, the dedup audit): if a
    damaged page fails it, the report still comes out, without that part and saying why."""
    try:
        return fn()
    except _POLARS_ERRORS as err:
        dataset.problems.append(f"{what} left out: {type(err).__name__}: {str(err).splitlines()[0]}")
        return default


def _sampling(n: int, stride: int, sample: pl.DataFrame, sample_bytes: int, budget: tuple[int, int]) -> dict:
    return {
        "sampled": stride > 1,
        "stride": stride,
        "documents": n,
        "sample_documents": sample.height,
        "sample_text_bytes": sample_bytes,
        "budget": {"rows": budget[0], "text_bytes": budget[1]},
        "all_documents": ALL_DOCS + ["encoding damage", "sources", "languages", "duplicates", "augmentation"],
        "sample_only": SAMPLED + ["control characters", "top words and n-grams", "tokens"],
        "note": (
            f"word-level numbers come from a sample of 1 in every {stride:,} documents ({sample.height:,} of "
            f"{n:,}); totals of words and lines are scaled from it by text size"
            if stride > 1
            else "every number is computed on all documents"
        ),
    }


def _totals(per_doc: pl.DataFrame, metrics: pl.DataFrame, sample_bytes: int, data: ShardSet) -> dict:
    n = per_doc.height
    text_bytes = int(per_doc["bytes"].sum()) if n else 0
    exact = sample_bytes == text_bytes

    def scaled(column: str) -> int:
        total = int(metrics[column].sum() or 0)
        return total if exact or not sample_bytes else round(total / sample_bytes * text_bytes)

    return {
        "documents": n,
        "text_bytes": text_bytes,
        "chars": int(per_doc["chars"].sum()) if n else 0,
        "words": scaled("words"),
        "lines": scaled("lines"),
        "words_exact": exact,
        "shard_bytes": data.file_bytes,
        "shards": len(data.shards),
        "empty_documents": int((per_doc["bytes"] == 0).sum()) if n else 0,
        "short_documents": int((per_doc["chars"] < THRESHOLDS["short_document_chars"]).sum()) if n else 0,
        "conversations": int(per_doc["turns"].is_not_null().sum()) if n else 0,
        "conversations_without_assistant_turn": int(
            (per_doc["turns"].is_not_null() & ~per_doc["has_assistant"].fill_null(False)).sum()
        )
        if n
        else 0,
    }


def _distributions(per_doc: pl.DataFrame, metrics: pl.DataFrame, scope_sample: str) -> dict:
    out = {c: distribution(per_doc[c], c, "all documents") for c in ALL_DOCS}
    for c in SAMPLED:
        out[c] = distribution(metrics[c], c, scope_sample)
    dup = metrics["dup_line_ratio"].drop_nulls()
    if len(dup):
        share = float((dup > THRESHOLDS["duplicate_line_ratio"]).sum() / len(dup))
        out["dup_line_ratio"]["over_threshold_share"] = share
    return out


def analyze(
    path: str,
    tokenizer: str | None = None,
    sample_rows: int = DEFAULT_SAMPLE_ROWS,
    sample_bytes: int = DEFAULT_SAMPLE_BYTES,
    token_bytes: int = DEFAULT_TOKEN_BYTES,
) -> dict[str, Any]:
    """Every number of one dataset's report (see the module docstrings of compute and summary)."""
    dataset = open_dataset(path)
    data = dataset.data
    stride = sample_stride(data.rows, data.text_bytes, sample_rows, sample_bytes)
    per_doc = _per_document(data, stride)
    n = per_doc.height
    lf = scan(data.shards)
    meta = _guarded(
        dataset,
        "metadata counts",
        lambda: metadata_counts(lf, metadata_keys(lf), clusters=not dataset.duplicates.shards),
        {},
    )
    sample = per_doc.filter(pl.col("text").is_not_null()).select("idx", "text")
    per_doc = per_doc.drop("text")
    tokens = word_tokens(sample)
    metrics = text_metrics(sample, tokens)
    in_sample = int(per_doc.filter(pl.col("idx") % stride == 0)["bytes"].sum()) if n else 0
    scope_sample = "sample" if stride > 1 else "all documents"

    report: dict[str, Any] = {
        "report_version": REPORT_VERSION,
        "generated_by": f"corpus {corpus.__version__}",
        "dataset": _dataset_info(dataset, stride),
        "sampling": _sampling(n, stride, sample, in_sample, (sample_rows, sample_bytes)),
        "totals": _totals(per_doc, metrics, in_sample, data),
        "pipeline": steps.pipeline_section(dataset, n),
        "rejected": _guarded(
            dataset, "rejected documents", lambda: steps.rejected_section(dataset), steps.NO_REJECTED
        ),
    }
    if not report["pipeline"]["funnel"]:
        report["pipeline"]["funnel"] = steps.funnel_without_stats(n, report["rejected"])
    report["distributions"] = _distributions(per_doc, metrics, scope_sample)
    report["encoding"] = {
        "replacement_char_documents": int(per_doc["replacement_char"].sum()) if n else 0,
        "mojibake_documents": int(per_doc["mojibake"].sum()) if n else 0,
        "control_char_documents": int(metrics["control_chars"].sum()) if metrics.height else 0,
        "control_char_scope": scope_sample,
    }
    report["languages"] = _optional_counts(meta.get("lang"), n, "metadata.lang")
    report["splits"] = _optional_counts(meta.get("split"), n, "metadata.split")
    report["sources"] = _sources(per_doc)
    report["duplicates"] = _guarded(
        dataset,
        "duplicate clusters",
        lambda: dedup.duplicates_section(dataset, meta.get("dedup_cluster")),
        {"available": False, "note": "duplicate clusters could not be read"},
    )
    report["augmentation"] = _augmentation(meta, n, report["pipeline"])
    report["top_terms"] = {
        "scope": scope_sample,
        "stopwords": STOPWORDS_SOURCE,
        "word_tokens": tokens.height,
        **top_terms(tokens),
    }
    report["samples"] = _guarded(dataset, "sample documents", lambda: _samples(data, sample, metrics), [])
    report["token_shards"] = shard_tokens(dataset.path, dataset.stats, dataset.problems)
    report["tokens"] = report[
        "token_shards"
    ]  # exact and free; a tokenizer given counts with that one instead
    if tokenizer:
        report["tokens"] = count_tokens(tokenizer, sample, report["totals"]["text_bytes"], n, token_bytes)
    report["thresholds"] = dict(THRESHOLDS)
    report["dataset"]["unreadable_shards"] = [{"path": p, "error": e} for p, e in data.unreadable]
    report["dataset"]["problems"] = list(dataset.problems)
    report["warnings"] = warnings_for(report)
    return report


def _optional_counts(frame: pl.DataFrame | None, documents: int, origin: str) -> dict[str, Any]:
    if frame is None or frame.height == 0:
        return {"available": False, "origin": origin}
    known = int(frame["n"].sum())
    rows = _value_counts(frame)
    if documents > known:
        rows.append(["(unknown)", documents - known])
        rows.sort(key=lambda kv: (-kv[1], kv[0]))
    return {"available": True, "origin": origin, "known": known, "counts": rows}


def _dataset_info(dataset: Dataset, stride: int) -> dict[str, Any]:
    data = dataset.data
    formats = sorted({"parquet" if s.path.endswith(".parquet") else "arrow" for s in data.shards})
    return {
        "path": dataset.path,
        "name": dataset.name,
        "layout": dataset.layout,
        "formats": formats,
        "shards": len(data.shards),
        "shard_bytes": data.file_bytes,
        "has_stats": dataset.stats is not None,
        "has_manifest": dataset.manifest is not None,
        "rejected_reasons": sorted(dataset.rejected),
        "has_duplicates": bool(dataset.duplicates.shards),
        "problems": list(dataset.problems),
        "unreadable_shards": [],
        "unfinished": unfinished_run(dataset.path) if dataset.layout == "corpus" else None,
    }
