"""Duplicate clusters, from whatever the run left: the duplicates/ audit dataset of the dedup step, a
`dedup_cluster` id in document metadata, or `duplicate_of` on the rejected copies (exact dedup).

The duplicates dataset is read by column names, so either of its two natural shapes works: one row per
cluster with a list of member ids, or one row per member with its cluster id. Columns with "jaccard" in
their name are averaged.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from corpus.report.source import Dataset, scan
from corpus.report.steps import SAMPLE_CHARS

CLUSTER_COLUMNS = ("cluster_id", "cluster", "dedup_cluster")
MEMBER_LIST_COLUMNS = ("member_ids", "members", "ids", "documents", "doc_ids")
MEMBER_COLUMNS = ("id", "doc_id", "document_id", "member_id")
LARGEST = 5


def _scan_any(shards) -> pl.LazyFrame:
    frames = []
    for shard in shards:
        frames.append(
            pl.scan_parquet(shard.path) if shard.path.endswith(".parquet") else pl.scan_ipc(shard.path)
        )
    return pl.concat(frames, how="diagonal_relaxed")


def _from_audit(dataset: Dataset) -> tuple[pl.DataFrame | None, dict[str, Any]]:
    """(cluster, size, kept, members, <jaccard>_min...) from duplicates/ plus the mean Jaccard of the members
    against their kept document; (None, {}) if the folder's shape is not known."""
    if not dataset.duplicates.shards:
        return None, {}
    lf = _scan_any(dataset.duplicates.shards)
    schema = lf.collect_schema()
    cluster = next((c for c in CLUSTER_COLUMNS if c in schema), None)
    kept = pl.col("kept_id").cast(pl.String) if "kept_id" in schema else pl.lit(None, dtype=pl.String)
    numeric = [c for c, t in schema.items() if "jaccard" in c.lower() and t.is_numeric()]
    listed = [
        c
        for c, t in schema.items()
        if "jaccard" in c.lower() and isinstance(t, pl.List) and t.inner.is_numeric()
    ]
    members = next((c for c in MEMBER_LIST_COLUMNS if c in schema and isinstance(schema[c], pl.List)), None)
    if cluster and members:
        size = pl.col("size") if "size" in schema else pl.col(members).list.len()
        frame = lf.select(
            pl.col(cluster).cast(pl.String).alias("cluster"),
            size.cast(pl.Int64).alias("size"),
            kept.alias("kept"),
            pl.col(members).cast(pl.List(pl.String)).alias("all_members"),
            *[pl.col(c) for c in numeric + listed],
        ).collect()
        means = {}
        for c in listed:
            # each member against the kept one; the kept member itself (1.0) is left out
            pairs = frame.select("kept", "all_members", c).filter(
                pl.col(c).list.len() == pl.col("all_members").list.len()
            )
            pairs = pairs.explode("all_members", c)
            pairs = pairs.filter(pl.col("kept").is_null() | (pl.col("all_members") != pl.col("kept")))
            means[c] = pairs[c].mean()
        for c in numeric:
            means[c] = frame[c].mean()
        frame = frame.with_columns(
            pl.col("all_members").list.head(LARGEST + 1).alias("members"),
            *[pl.col(c).list.min().alias(f"{c}_min") for c in listed],
        ).drop("all_members", *listed)
        return frame, means
    member = next((c for c in MEMBER_COLUMNS if c in schema), None)
    if cluster and member:
        frame = (
            lf.group_by(pl.col(cluster).cast(pl.String).alias("cluster"))
            .agg(
                pl.len().alias("size"),
                pl.col(member).cast(pl.String).sort().head(LARGEST).alias("members"),
                *[pl.col(c).mean() for c in numeric],
            )
            .collect()
        )
        return frame, {c: frame[c].mean() for c in numeric}
    return None, {}


def _from_metadata(kept: pl.DataFrame | None, rejected_meta: pl.DataFrame) -> tuple[pl.DataFrame | None, str]:
    """Clusters from metadata: dedup_cluster of kept (value, n) and rejected documents, else duplicate_of."""
    parts = [
        rejected_meta.select(pl.col("dedup_cluster").alias("value"))
        .drop_nulls()
        .with_columns(n=pl.lit(1, pl.UInt32))
    ]
    if kept is not None:
        parts.append(kept.with_columns(pl.col("n").cast(pl.UInt32)))
    clusters = pl.concat(parts)
    if clusters.height:
        sizes = clusters.group_by(pl.col("value").alias("cluster")).agg(
            pl.col("n").sum().cast(pl.Int64).alias("size")
        )
        sizes = sizes.filter(pl.col("size") > 1)
        return sizes.with_columns(
            pl.lit(None, dtype=pl.List(pl.String)).alias("members")
        ), "metadata.dedup_cluster"
    copies = rejected_meta.select("duplicate_of", "id").drop_nulls("duplicate_of")
    if copies.height:
        sizes = copies.group_by(pl.col("duplicate_of").alias("cluster")).agg(
            (pl.len() + 1).cast(pl.Int64).alias("size"), pl.col("id").head(LARGEST - 1).alias("copies")
        )
        sizes = sizes.with_columns(pl.concat_list(pl.col("cluster"), pl.col("copies")).alias("members"))
        return sizes.drop("copies"), "rejected duplicate_of"
    return None, ""


def rejected_metadata(dataset: Dataset) -> pl.DataFrame:
    """(id, duplicate_of, dedup_cluster) of every rejected document that has either."""
    frames = []
    for shards in dataset.rejected.values():
        if shards.shards:
            meta = pl.col("metadata")
            frames.append(
                scan(shards.shards)
                .select(
                    pl.col("id"),
                    meta.str.json_path_match("$.duplicate_of").alias("duplicate_of"),
                    meta.str.json_path_match("$.dedup_cluster").alias("dedup_cluster"),
                )
                .filter(pl.col("duplicate_of").is_not_null() | pl.col("dedup_cluster").is_not_null())
                .collect(engine="streaming")
            )
    if not frames:
        return pl.DataFrame(schema={"id": pl.String, "duplicate_of": pl.String, "dedup_cluster": pl.String})
    return pl.concat(frames)


def _texts(dataset: Dataset, ids: list[str]) -> dict[str, str]:
    """Text of the given documents, wherever they are (kept or rejected)."""
    if not ids:
        return {}
    shards = list(dataset.data.shards) + [s for r in dataset.rejected.values() for s in r.shards]
    found = scan(shards, ["id", "text"]).filter(pl.col("id").is_in(ids)).collect(engine="streaming")
    out: dict[str, str] = {}
    for doc_id, text in found.iter_rows():
        out.setdefault(doc_id, text or "")
    return out


def duplicates_section(dataset: Dataset, kept_clusters: pl.DataFrame | None) -> dict[str, Any]:
    """kept_clusters: (value, n) documents per metadata dedup_cluster among the kept documents, if read."""
    rejected_meta = rejected_metadata(dataset)
    try:
        (clusters, jaccard), origin = _from_audit(dataset), "duplicates/"
    except (pl.exceptions.PolarsError, OSError):  # a damaged audit must not cost the whole report
        clusters, jaccard = None, {}
    if clusters is None:
        jaccard = {}
        clusters, origin = _from_metadata(kept_clusters, rejected_meta)
    if clusters is None or clusters.height == 0:
        note = "no duplicate clusters: no duplicates/ dataset, dedup_cluster or duplicate_of in metadata"
        if dataset.duplicates.shards and clusters is None:
            note = "duplicates/ has no recognised cluster columns (" + ", ".join(CLUSTER_COLUMNS) + ")"
        return {"available": False, "note": note}
    sizes = clusters["size"]
    size_counts = sizes.value_counts(name="clusters").sort("size")
    largest = clusters.sort(["size", "cluster"], descending=[True, False]).head(LARGEST)
    kept = largest["kept"].to_list() if "kept" in largest.columns else [None] * largest.height
    wanted = [
        m for k, ms in zip(kept, largest["members"].to_list()) for m in ([k] if k else []) + (ms or [])[:2]
    ]
    texts = _texts(dataset, wanted)
    top = []
    jaccard_cols = [c for c in clusters.columns if "jaccard" in c.lower()]  # per cluster
    for row in largest.iter_rows(named=True):
        members = row["members"] or []
        if row.get("kept"):  # the kept document first, then the others in their order
            members = [row["kept"]] + [m for m in members if m != row["kept"]][: LARGEST - 1]
        entry = {
            "cluster": row["cluster"],
            "size": int(row["size"]),
            "kept": row.get("kept"),
            "members": members,
            "samples": [
                {"id": m, "text": texts[m][:SAMPLE_CHARS], "truncated": len(texts[m]) > SAMPLE_CHARS}
                for m in members[:2]
                if m in texts
            ],
        }
        entry.update({c: row[c] for c in jaccard_cols})
        top.append(entry)
    return {
        "available": True,
        "origin": origin,
        "clusters": int(clusters.height),
        "documents_in_clusters": int(sizes.sum()),
        "removed": int(sizes.sum() - clusters.height),
        "size_counts": [[int(s), int(n)] for s, n in size_counts.iter_rows()],
        "jaccard_mean": {c: v for c, v in jaccard.items() if v is not None},
        "largest": top,
    }
